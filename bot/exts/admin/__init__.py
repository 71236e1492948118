"""/ingest and /feeds: adding articles and following feeds, for members who may manage the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.admin._cog import Admin

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Admin(bot))
