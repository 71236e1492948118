"""The "Find sources" message menu: a chat message's text answered as a question, as /ask answers it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.sources._cog import Sources

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Sources(bot))
