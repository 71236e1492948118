"""The question path's cost grows with its candidates, not with their square (issue 32: a time cue
once ranked every candidate sentence, each step copying the growing matrix of those taken)."""

from __future__ import annotations

import random
import time

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine

WORDS = [
    "ferry",
    "union",
    "port",
    "talks",
    "pay",
    "deal",
    "crew",
    "harbour",
    "strike",
    "ballot",
    "offer",
    "ministers",
    "operator",
    "sailings",
    "island",
    "freight",
    "wages",
    "vote",
    "dispute",
    "shift",
    "dock",
    "captain",
    "fuel",
    "tickets",
    "passengers",
    "timetable",
    "berth",
    "council",
    "tide",
    "cargo",
    "pension",
    "overtime",
    "terminal",
    "inspector",
    "repairs",
    "engine",
    "ramp",
    "storm",
    "refund",
]


def _story(n: int, day: int, sentences: int, rng: random.Random) -> ArticleIn:
    """A long report of the strike: varied sentences, so few are near-duplicates of another."""
    text = " ".join(
        f"{' '.join(rng.sample(WORDS, 9)).capitalize()} on point {n * 1000 + i}." for i in range(sentences)
    )
    return ArticleIn(
        id=f"strike-{n}",
        title=f"Ferry strike, day {day}",
        text=text,
        source="Gazette",
        url=f"https://gazette.example/strike-{n}",
        published=f"2024-03-{day:02d}",
    )


def _rank_seconds(tmp_path, sentences: int) -> float:
    """The least CPU seconds of five rankings of a time-cued question over ten stories this long (this
    thread's seconds: a BLAS pool's spinning threads do no work; the least: a busy machine only adds)."""
    rng = random.Random(sentences)
    settings = Settings(data_dir=tmp_path / f"data{sentences}", model="hash", rerank=False, _env_file=None)
    engine = Engine(settings)
    try:
        engine.ingest([_story(n, 1 + n, sentences, rng) for n in range(10)])
        path = engine.questions
        (query,) = path.queries(["what is the latest on the ferry strike?"])
        path.rank(query, None, 5)  # warm: the parts are made on first use
        times = []
        for _ in range(5):
            started = time.thread_time()
            ranking = path.rank(query, None, 5)
            times.append(time.thread_time() - started)
        assert len(ranking.candidates.sentences) >= 10 * sentences * 0.9  # the stories were read whole
        return min(times)
    finally:
        engine.close()


def test_a_time_cued_question_costs_linear_time_in_its_candidate_sentences(tmp_path) -> None:
    small, large = _rank_seconds(tmp_path, 150), _rank_seconds(tmp_path, 300)
    assert large < 3 * small, f"doubling the candidates took {large / small:.1f}x the time"
