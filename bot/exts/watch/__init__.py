"""/watch: standing queries; new articles that match one are posted to the channel it was set in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.watch._cog import Watching

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Watching(bot))
