"""/coverage end to end against FakeDiscord, over a hash-embedder engine: it needs no model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakediscord import FakeDiscord
from harness import ephemeral_reply, final_message, run_command

from bot.settings import BotSettings
from index.core.models import ArticleIn
from index.engine import Engine


@pytest.fixture
def engine(bot_settings: BotSettings, sample_dir: Path) -> Iterator[Engine]:
    """The bundled sample, embedded by the hash test vectors."""
    engine = Engine(bot_settings.model_copy(update={"model": "hash", "rerank": False}))
    engine.ingest_paths([sample_dir])
    yield engine
    engine.close()


async def test_coverage_says_what_the_bot_has_read(start_bot, fake: FakeDiscord) -> None:
    async with start_bot() as bot:
        ix = await run_command(bot, fake, "coverage")
    fields = {f["name"]: f["value"] for f in final_message(fake, ix)["embeds"][0]["fields"]}
    assert (fields["Articles"], fields["Outlets"]) == ("1", "1")


async def test_coverage_spends_from_the_same_budget_as_questions(start_bot, fake: FakeDiscord) -> None:
    async with start_bot(cooldown_rate=1, cooldown_seconds=60) as bot:
        await run_command(bot, fake, "coverage")
        again = await fake.slash_command("coverage")
        assert "Easy there: you can ask again in" in await ephemeral_reply(fake, again)
        other = await run_command(bot, fake, "coverage", user=fake.admin_user)
        assert other.callback_types == [5]  # another user's budget is their own


async def test_coverage_shows_when_the_news_this_server_sees_was_last_ingested(
    start_bot, fake: FakeDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another server's upload is not news here: its time must not show as this server's last ingest."""
    monkeypatch.setattr("index.reading.ingest.now_iso", lambda: "2030-01-02T03:04:05+00:00")
    upload = ArticleIn(title="Quay closes", text="The quay closed on Monday. Boats moved to the pier.")
    assert engine.ingest([upload], scope=str(fake.other_guild_id)).new == 1
    later = "<t:1893553445:f>"  # 2030-01-02T03:04:05Z

    def last_ingest(ix) -> str:
        fields = {f["name"]: f["value"] for f in final_message(fake, ix)["embeds"][0]["fields"]}
        return fields["Last ingest"]

    async with start_bot() as bot:
        here = await run_command(bot, fake, "coverage")
        there = await run_command(bot, fake, "coverage", channel_id=fake.other_channel_id)
    assert later not in last_ingest(here) and last_ingest(here) != "never"  # the sample, as shared news
    assert later in last_ingest(there)
