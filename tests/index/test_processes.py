"""Questions answered in worker processes: the same answers as the engine's own, new news followed."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from index.core.errors import QuestionError
from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.processes import Ask, QuestionProcesses, Search, _Worker, core_shares
from index.storage.store import Filters


def _story(n: int, text: str) -> ArticleIn:
    return ArticleIn(f"Story {n}", text, id=f"s{n}", source="Harbour Post", published="2026-11-02")


@pytest.fixture
def served(hash_settings: Settings) -> Iterator[tuple[Engine, QuestionProcesses]]:
    """The writer's engine with two stories, and two question workers on its data dir."""
    engine = Engine(hash_settings)
    engine.ingest(
        [
            _story(1, "The ferry to Port Ellis sailed on time. The harbour master warned ships about fog."),
            _story(2, "The council voted to close the library. Forty people protested outside the hall."),
        ]
    )
    workers = QuestionProcesses(hash_settings, 2)
    workers.warm()
    yield engine, workers
    workers.close()
    engine.close()


def test_workers_answer_as_the_engine_does(served):
    engine, workers = served
    assert len(workers.warm()) == 2  # both started, each with its engine open
    for question in ("who warned ships about fog?", "how many people protested?"):
        assert workers.ask(question).to_dict() == engine.ask(question).to_dict()
    filters = Filters(outlet="Harbour Post", since="2026-11-01")
    hits = workers.search("library vote", 3, filters)
    expected = engine.search("library vote", 3, filters)
    assert hits and [h.to_dict() for h in hits] == [h.to_dict() for h in expected]


def test_a_question_the_engine_refuses_is_refused_the_same_way(served):
    _, workers = served
    with pytest.raises(QuestionError, match="empty"):
        workers.ask("   ")


def test_workers_answer_from_news_the_writer_adds_after_they_started(served):
    engine, workers = served
    engine.ingest([_story(3, "The lighthouse keeper retired after forty years at the light.")])
    deadline = time.monotonic() + 30
    while True:  # each worker follows the writer within its refresh interval (a few seconds)
        sentences = {workers.ask("lighthouse keeper retired").answers[0].sentence for _ in range(4)}
        if sentences == {"The lighthouse keeper retired after forty years at the light."}:
            break
        assert time.monotonic() < deadline, sentences
        time.sleep(0.5)


def test_a_dead_worker_is_replaced_and_the_question_answered(served):
    engine, workers = served
    killed = workers.warm()[0]
    os.kill(killed, signal.SIGKILL)
    time.sleep(0.5)
    for _ in range(2):  # one of the two reaches the dead worker's pipe
        answer = workers.ask("who warned ships about fog?")
        assert answer.to_dict() == engine.ask("who warned ships about fog?").to_dict()
    alive = workers.warm()
    assert len(alive) == 2 and killed not in alive


def test_each_worker_keeps_to_its_own_share_of_the_cores(served):
    _, workers = served
    cores = sorted(os.sched_getaffinity(0))
    shares = [os.sched_getaffinity(pid) for pid in workers.warm()]
    if len(cores) >= 2:  # a core each, none shared
        assert len(shares[0]) == len(shares[1]) == len(cores) // 2 and not shares[0] & shares[1]
    else:
        assert shares == [set(cores)] * 2


def test_core_shares_split_the_cores_evenly_or_share_them_all():
    assert core_shares([0, 1, 2, 3], 2) == [{0, 1}, {2, 3}]
    assert core_shares([0, 1, 2, 3, 4], 2) == [{0, 1}, {2, 3}]
    assert core_shares([4, 7], 2) == [{4}, {7}]
    assert core_shares([0, 1], 3) == [{0, 1}] * 3


def test_a_question_left_midway_does_not_hand_its_answer_to_the_next(served, monkeypatch):
    engine, workers = served
    receive = _Worker._receive
    calls = iter([KeyboardInterrupt, None])

    def interrupted_once(worker: _Worker) -> object:
        if (error := next(calls, None)) is not None:
            raise error  # as Ctrl-C would between the send and the reply
        return receive(worker)

    monkeypatch.setattr(_Worker, "_receive", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        workers.ask("who warned ships about fog?")
    for question in ("how many people protested?", "what did the council vote to close?") * 2:
        assert workers.ask(question).to_dict() == engine.ask(question).to_dict()


def test_requests_are_typed_messages_each_answered_by_the_engine(hash_engine: Engine) -> None:
    """What travels to a worker names what it asks by its type, not by a method's name."""
    hash_engine.ingest([_story(1, "The harbour master warned ships about fog.")])
    filters = Filters(outlet="Harbour Post")
    asked = Ask("who warned ships?", 2, filters)
    assert asked.answer(hash_engine).to_dict() == hash_engine.ask("who warned ships?", 2, filters).to_dict()
    found = Search("fog", 1).answer(hash_engine)
    assert [h.to_dict() for h in found] == [h.to_dict() for h in hash_engine.search("fog", 1)]
    with pytest.raises(QuestionError):
        Ask(" ").answer(hash_engine)
