"""/ask: answers quoted from the news, with more quotes and their context a button away."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.ask._cog import Ask

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Ask(bot))
