"""@mention the bot (or reply to its answer) with a question: the same answer as /ask, as a reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.mention._cog import Mention

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Mention(bot))
