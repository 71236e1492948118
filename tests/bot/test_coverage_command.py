"""/coverage end to end against FakeDiscord, over a hash-embedder engine: it needs no model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakediscord import FakeDiscord
from harness import ephemeral_reply, final_message, run_command

from bot.settings import BotSettings
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
