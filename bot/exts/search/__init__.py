"""/search: related articles with their best passage, paginated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.search._cog import Search

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Search(bot))
