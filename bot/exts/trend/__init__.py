"""/trend: a chart of how many articles about something appeared over time, by outlet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.trend._cog import TrendChart

if TYPE_CHECKING:
    from bot.app import NewsBot


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(TrendChart(bot))
