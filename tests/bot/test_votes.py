"""👍 / 👎 under each quote of an answer, end to end: any member votes, once per quote, with only a
hash of them stored, and votes on answers sent before a restart still count."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_persistent_buttons
from fakediscord import FakeDiscord
from harness import final_message, press, run_command

from bot.exts.ask._views import CHANGED, THANKS, VoteButton
from bot.views import new_key
from index.engine import Engine
from index.features.feedback import DOWN, UP, Feedback, Vote
from index.search.answer import Answer
from index.storage.store import Filters

restart = test_persistent_buttons.restart  # a new bot and engine on the same data dir
answered = test_persistent_buttons.answered
QUESTION = "who warned ships?"


@pytest.fixture
def data_source(harbour_data: Path) -> Path:
    return harbour_data  # enough quotes for a second page


def quotes(engine: Engine, fake: FakeDiscord) -> list[Answer]:
    """The quotes the answer shows, in order (the question asked again, in the server's scope)."""
    return engine.ask(QUESTION, None, Filters(scope=str(fake.guild_id))).answers


def votes(engine: Engine) -> list[Vote]:
    return Feedback(engine.store).votes()


async def test_any_member_votes_once_per_quote(start_bot, engine: Engine, fake: FakeDiscord) -> None:
    async with start_bot() as bot:
        message = final_message(fake, await run_command(bot, fake, "ask", {"question": QUESTION}))
        row = message["components"][1]["components"]
        assert [b["label"] for b in row] == ["👍 1", "👎 1", "👍 2", "👎 2"]

        # bob did not ask (alice did), and may vote all the same
        up = await answered(fake, await press(fake, message, "👍 1", user=fake.admin_user))
        assert up.callbacks[0]["data"]["content"] == THANKS and up.callbacks[0]["data"]["flags"] == 64
        first, second = quotes(engine, fake)[:2]
        (vote,) = votes(engine)
        assert (vote.question, vote.sentence, vote.article_id, vote.vote) == (
            QUESTION,
            first.sentence,
            first.article.id,
            UP,
        )
        assert vote.guild_id == str(fake.guild_id)
        assert vote.user_hash == Feedback(engine.store).user_hash(fake.admin_user.id)
        stored = engine.store.query("SELECT * FROM feedback")
        assert str(fake.admin_user.id) not in repr(stored)  # only the hash

        # voting again on the same quote replaces the vote; alice's vote on the other is her own
        await answered(fake, await press(fake, message, "👎 1", user=fake.admin_user))
        await answered(fake, await press(fake, message, "👍 2"))
    assert sorted((v.user_hash, v.sentence, v.vote) for v in votes(engine)) == sorted(
        [
            (Feedback(engine.store).user_hash(fake.admin_user.id), first.sentence, DOWN),
            (Feedback(engine.store).user_hash(fake.member_user.id), second.sentence, UP),
        ]
    )


async def test_votes_follow_the_page_and_count_after_a_restart(
    start_bot, restart, engine: Engine, fake: FakeDiscord
) -> None:
    async with start_bot() as bot:
        message = final_message(fake, await run_command(bot, fake, "ask", {"question": QUESTION}))
        await answered(fake, await press(fake, message, "More answers"))
    third = quotes(engine, fake)[2]

    async with restart():
        vote = await answered(fake, await press(fake, message, "👍 3", user=fake.admin_user))
        assert vote.callback_types == [5] and vote.callbacks[0]["data"]["flags"] == 64  # answered again
        assert fake.get_message(vote.original_id)["content"] == THANKS
    ((sentence, value),) = [(v.sentence, v.vote) for v in votes(engine)]
    assert (sentence, value) == (third.sentence, UP)


async def test_a_vote_on_a_quote_the_answer_no_longer_gives_says_so(
    start_bot, restart, engine: Engine, fake: FakeDiscord
) -> None:
    async with start_bot() as bot:
        message = final_message(fake, await run_command(bot, fake, "ask", {"question": QUESTION}))
    engine.forget(quotes(engine, fake)[0].article.id)  # the quoted article is gone

    async with restart():
        vote = await answered(fake, await press(fake, message, "👍 1"))
        await fake.wait_until(lambda: vote.followup_ids)
    notice = fake.get_message(vote.followup_ids[0])
    assert notice["content"] == CHANGED and notice["flags"] == 64
    assert not votes(engine)


def test_the_largest_vote_fits_a_custom_id() -> None:
    button = VoteButton("down", new_key(), "f" * 8, 9999)
    assert len(button.custom_id) <= 100 and button.template.fullmatch(button.custom_id)
