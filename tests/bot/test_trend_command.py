"""/trend end to end: the chart attached to the reply, or a plain word that there is nothing to chart."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fakediscord import FakeDiscord
from harness import ephemeral_reply, final_message, run_command
from PIL import Image

from bot.app import NewsBot
from bot.chart import HEIGHT, WIDTH


@pytest.fixture
def data_source(harbour_data: Path) -> Path:
    return harbour_data


async def test_trend_attaches_a_chart_of_the_matching_articles(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(bot, fake, "trend", {"query": "ferry"})
    assert ix.callback_types == [5]
    message = final_message(fake, ix)
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "trend.png"
    image = Image.open(io.BytesIO(fake.attachment_data(attachment)))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    (embed,) = message["embeds"]
    assert embed["image"]["url"] == "attachment://trend.png"
    assert embed["description"] == (
        "5 articles about “ferry”, 2024-03-01 to 2024-03-07, per day: "
        "Coast Times 2, Harbour Herald 2, Bay Courier 1."
    )
    assert message["flags"] & 64 == 0  # public, like /search


async def test_trend_dates_narrow_the_chart(bot: NewsBot, fake: FakeDiscord) -> None:
    options = {"query": "ferry", "since": "2024-03-04", "until": "2024-03-05"}
    embed = final_message(fake, await run_command(bot, fake, "trend", options))["embeds"][0]
    assert embed["description"].startswith("2 articles about “ferry”, 2024-03-04 to 2024-03-05, per day")


async def test_trend_over_all_dates_charts_the_days_with_articles(bot: NewsBot, fake: FakeDiscord) -> None:
    options = {"query": "ferry", "since": "0001-01-01", "until": "9999-12-31"}  # was a stall, then a crash
    message = final_message(fake, await run_command(bot, fake, "trend", options))
    assert [a["filename"] for a in message["attachments"]] == ["trend.png"]
    assert message["embeds"][0]["description"].startswith(
        "5 articles about “ferry”, 2024-03-01 to 2024-03-07, per day"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"since": "10000-01-01"}, "`since` must be a date written year-month-day"),
        ({"until": "0000-12-31"}, "`until` must be a date written year-month-day"),
        ({"since": "2024-03-05", "until": "2024-03-01"}, "is after `until`"),
    ],
)
async def test_trend_dates_out_of_range_get_a_private_hint(
    bot: NewsBot, fake: FakeDiscord, options: dict[str, str], expected: str
) -> None:
    ix = await fake.slash_command("trend", {"query": "ferry", **options})
    assert expected in await ephemeral_reply(fake, ix)


async def test_trend_with_nothing_to_chart_says_so_without_a_chart(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(bot, fake, "trend", {"query": "quantum computing"})
    message = final_message(fake, ix)
    assert message["attachments"] == []
    (embed,) = message["embeds"]
    assert embed["description"].startswith("No articles match “quantum computing”: nothing to chart.")
    assert "image" not in embed
