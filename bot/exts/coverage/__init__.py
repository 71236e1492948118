"""/coverage: the articles, outlets and dates the answers can come from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.coverage._cog import Coverage

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Coverage(bot))
