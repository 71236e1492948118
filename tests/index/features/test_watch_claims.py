"""Watches checked once across the bot's processes sharing one store (SQLite and PostgreSQL): `due`
claims what its process will check, and only ever the watches of the servers it serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.settings import Settings
from index.engine import Engine
from index.features.watch import CLAIM_SECONDS, Watches

NEW = Path(__file__).resolve().parents[2] / "fixtures" / "watch" / "new.jsonl"
A, B = "111111", "222222"  # two Discord servers' scopes, on different shards
NOW = 1_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, hash_settings: Settings) -> Iterator[Engine]:
    settings = hash_settings
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})
    opened = Engine(settings)
    yield opened
    opened.close()


def _claimed_by(engine: Engine) -> dict[int, str | None]:
    return {r["pk"]: r["claimed_by"] for r in engine.store.query("SELECT pk, claimed_by FROM watches")}


def test_a_due_watch_is_claimed_by_one_checker_until_its_claim_ends(engine: Engine) -> None:
    one, other = Watches(engine), Watches(engine)  # two processes' checkers
    watch = one.add("ferry strike", scope=A, channel=1)
    assert one.due(30, 6, now=NOW) == other.due(30, 6, now=NOW) == []  # nothing new yet
    engine.ingest_paths([NEW])

    assert one.due(30, 6, now=NOW) == [watch]
    assert other.due(30, 6, now=NOW + 1) == []  # the first checker's
    assert one.due(30, 6, now=NOW + 60) == [watch]  # its next loop: renewed
    assert other.due(30, 6, now=NOW + 60 + CLAIM_SECONDS - 1) == []
    assert _claimed_by(engine) == {watch.id: one.claimant}
    # the first checker died: its claim ends and the other takes the watch
    assert other.due(30, 6, now=NOW + 60 + CLAIM_SECONDS) == [watch]
    assert one.due(30, 6, now=NOW + 61 + CLAIM_SECONDS) == []
    assert _claimed_by(engine) == {watch.id: other.claimant}


def test_a_watch_of_a_server_not_served_is_never_claimed(engine: Engine) -> None:
    first, second = Watches(engine), Watches(engine)  # the processes serving server A and server B
    in_a = first.add("ferry strike", scope=A, channel=1)
    in_b = first.add("ferry strike", scope=B, channel=2)
    engine.ingest_paths([NEW])
    assert first.due(30, 6, now=NOW, serves={A}.__contains__) == [in_a]
    assert _claimed_by(engine) == {in_a.id: first.claimant, in_b.id: None}
    assert second.due(30, 6, now=NOW, serves={B}.__contains__) == [in_b]
    assert first.due(30, 6, now=NOW + 2 * CLAIM_SECONDS, serves={A}.__contains__) == [in_a]  # never B's
    assert _claimed_by(engine) == {in_a.id: first.claimant, in_b.id: second.claimant}
    assert first.due(30, 6, now=NOW, serves=lambda scope: False) == []  # a process serving no server
