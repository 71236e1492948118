"""/search, /coverage and the shared options end to end, over articles from several outlets."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakediscord import FakeDiscord
from harness import buttons, embed_text, ephemeral_reply, final_message, press, run_command

from bot.app import NewsBot


@pytest.fixture
def data_source(harbour_data: Path) -> Path:
    return harbour_data


async def test_search_pages_through_articles(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(bot, fake, "search", {"query": "harbour ferry"})
    message = final_message(fake, ix)
    embed = message["embeds"][0]
    assert len(embed["fields"]) == 3 and embed["fields"][0]["name"].startswith("1. ")
    assert embed["fields"][0]["value"].startswith("> ") and "**" in embed["fields"][0]["value"]
    pages = int(embed["footer"]["text"].split(" of ")[1].split()[0])
    assert pages >= 3
    shown = buttons(message)
    assert shown["Prev"]["disabled"] and not shown["Next"]["disabled"]

    click = await press(fake, message, "Next")
    await fake.wait_until(lambda: click.callbacks)
    page2 = click.callbacks[0]["data"]["embeds"][0]
    assert page2["fields"][0]["name"].startswith("4. ") and page2["footer"]["text"].startswith("page 2 of")


async def test_search_filters_by_outlet_and_dates(bot: NewsBot, fake: FakeDiscord) -> None:
    options = {"query": "ferry", "outlet": "coast times", "since": "2024-03-04", "until": "2024-03-05"}
    ix = await run_command(bot, fake, "search", options)
    embed = final_message(fake, ix)["embeds"][0]
    assert {f["name"].split(". ", 1)[1] for f in embed["fields"]} == {"Ferry crew strike", "New pier opens"}
    assert all("Coast Times" in f["value"] for f in embed["fields"])


async def test_outlet_autocomplete_suggests_known_outlets(bot: NewsBot, fake: FakeDiscord) -> None:
    typed = await fake.autocomplete("ask", {"question": "ferry", "outlet": "co"}, focused="outlet")
    await fake.wait_until(lambda: typed.callbacks)
    choices = [c["value"] for c in typed.callbacks[0]["data"]["choices"]]
    assert choices == ["Coast Times", "Bay Courier"]  # starting with what was typed first, then containing it

    everything = await fake.autocomplete("search", {"query": "ferry", "outlet": ""}, focused="outlet")
    await fake.wait_until(lambda: everything.callbacks)
    names = [c["name"] for c in everything.callbacks[0]["data"]["choices"]]
    assert sorted(names) == ["Bay Courier", "Coast Times", "Harbour Herald"]


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("ask", {"question": "ferry fares?", "since": "2024-13-01"}, "`since` must be a date"),
        ("ask", {"question": "ferry fares?", "since": "last week"}, "like 2024-03-01"),
        (
            "ask",
            {"question": "ferry fares?", "outlet": "Nowhere Daily"},
            "I have no articles from “Nowhere Daily”",
        ),
        ("search", {"query": "ferry", "since": "2024-03-05", "until": "2024-03-01"}, "is after `until`"),
    ],
)
async def test_bad_options_get_a_private_hint(
    bot: NewsBot, fake: FakeDiscord, command: str, options: dict[str, str], expected: str
) -> None:
    ix = await fake.slash_command(command, options)
    assert expected in await ephemeral_reply(fake, ix)


async def test_coverage(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(bot, fake, "coverage")
    text = embed_text(final_message(fake, ix)["embeds"][0])
    assert "Articles\n9" in text and "2024-03-01 to 2024-03-08" in text
    assert "Coast Times (3)" in text and "<t:" in text  # last ingest as a Discord timestamp
