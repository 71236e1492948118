"""`newsbot eval`: answer quality measured on the exact path `/ask` uses.

Scoring follows ../shared/eval/README.md: a hit is a returned *sentence* (≤ 500 characters) that
contains an expected answer string, case-insensitive, whitespace folded, matched as a whole.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the question sets and answer matching load without the engine (training on a GPU box)
    from index.engine import Engine

MAX_SENTENCE_CHARS = 500
RANKS = 10


@dataclass
class Question:
    question: str
    answers: list[str]
    kind: str | None = None
    id: str | None = None
    article: str | None = None
    source: str | None = None  # the questions file, as given: who wrote them, as the report breaks down


@dataclass
class Outcome:
    question: Question
    rank: int | None  # 1-based rank of the first hit among the returned sentences
    answered: bool
    seconds: float
    sentences: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                questions.append(
                    Question(
                        str(obj["question"]),
                        [str(a) for a in obj.get("answers") or []],
                        obj.get("kind"),
                        obj.get("id"),
                        obj.get("article"),
                        str(path),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a question object ({exc})") from exc
            if limit and len(questions) >= limit:
                break
    return questions


def article_lines(articles_file: Path) -> dict[str, int]:
    """Each article id of a JSONL articles file with its 0-based line."""
    with articles_file.open(encoding="utf-8") as handle:
        return {json.loads(line).get("id"): n for n, line in enumerate(handle) if line.strip()}


def by_position(questions: Sequence[Question], articles_file: Path, parity: str) -> list[Question]:
    """The questions whose article is at an even or odd 0-based line of `articles_file`: reqa-squad's
    odd-position articles are held out for measuring, the even ones are for training and tuning."""
    if parity not in ("even", "odd"):
        raise ValueError(f"articles must be 'even' or 'odd', not {parity!r}")
    lines = article_lines(articles_file)
    return [q for q in questions if q.article in lines and lines[q.article] % 2 == (parity == "odd")]


def without_held_out(questions: Sequence[Question], articles_file: Path) -> list[Question]:
    """Drops the questions about the odd-line (held-out) articles of `articles_file`; questions about
    articles it does not list are kept. What training and tuning read goes through this."""
    lines = article_lines(articles_file)
    return [q for q in questions if lines.get(q.article or "", 0) % 2 == 0]


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def contains_answer(sentence: str, answers: Iterable[str]) -> bool:
    """Whole-match containment (`answer_span`): "43" is not found in "1943", nor "Nick" in "Nickel"."""
    return len(sentence) <= MAX_SENTENCE_CHARS and answer_span(sentence, answers) is not None


def answer_span(text: str, answers: Iterable[str]) -> tuple[int, int] | None:
    """Where in ``text`` the first of ``answers`` found lies, matched whole (not inside a longer
    word), whatever the case and the spacing: the characters a training label can point at."""
    for needle in map(_fold, answers):
        if needle:
            left = r"(?<!\w)" if re.match(r"\w", needle[0]) else ""
            right = r"(?!\w)" if re.match(r"\w", needle[-1]) else ""
            spaced = r"\s+".join(re.escape(word) for word in needle.split(" "))
            if found := re.search(left + spaced + right, text, re.IGNORECASE):
                return found.span()
    return None


def first_hit(sentences: Sequence[str], answers: Sequence[str]) -> int | None:
    for rank, sentence in enumerate(sentences[:RANKS], 1):
        if contains_answer(sentence, answers):
            return rank
    return None


def run(engine: Engine, questions: Sequence[Question]) -> list[Outcome]:
    """Ask each question alone, as `/ask` does; latency is warm (model and index already loaded)."""
    if questions:
        engine.ask(questions[0].question)
    outcomes = []
    for q in questions:
        started = time.perf_counter()
        result = engine.ask(q.question, k=RANKS)
        seconds = time.perf_counter() - started
        sentences = [a.sentence for a in result.answers]
        outcomes.append(
            Outcome(
                q,
                first_hit(sentences, q.answers) if q.answers else None,
                result.answered,
                seconds,
                sentences,
                [a.article.id for a in result.answers],
            )
        )
    return outcomes


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    answerable = [o for o in outcomes if o.question.answers]
    unanswerable = [o for o in outcomes if not o.question.answers]
    report: dict[str, Any] = {"questions": len(outcomes), **_scores(answerable)}
    report["refused_answerable"] = _share(answerable, lambda o: not o.answered)
    report["unanswerable"] = len(unanswerable)
    report["refused_unanswerable"] = _share(unanswerable, lambda o: not o.answered)
    for name, key in (("by_kind", "kind"), ("by_file", "source")):
        groups = _groups(outcomes, key)
        if groups and (name == "by_kind" or len(groups) > 1):  # one file is the report itself
            report[name] = groups
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    if latencies:
        report["latency_ms"] = {
            "mean": round(statistics.fmean(latencies), 1),
            "p95": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1),
        }
    return report


def _groups(outcomes: Sequence[Outcome], key: str) -> dict[str, dict[str, Any]]:
    """Scores per value of a question's `key` (its kind, its file): a set written by one writer can
    read higher than another's, and the whole hides it."""
    grouped: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if value := getattr(o.question, key):
            grouped[value].append(o)
    return {
        value: {
            "questions": len(items),
            **_scores([o for o in items if o.question.answers]),
            "refused": _share(items, lambda o: not o.answered),
        }
        for value, items in sorted(grouped.items())
    }


def _scores(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    if not outcomes:
        return {"answerable": 0}
    n = len(outcomes)
    return {
        "answerable": n,
        "hit@1": round(sum(o.rank == 1 for o in outcomes) / n, 4),
        "hit@3": round(sum(o.rank is not None and o.rank <= 3 for o in outcomes) / n, 4),
        "mrr@10": round(sum(1 / o.rank for o in outcomes if o.rank) / n, 4),
    }


def _share(outcomes: Sequence[Outcome], test: Any) -> float | None:
    return round(sum(map(test, outcomes)) / len(outcomes), 4) if outcomes else None


def write_misses(outcomes: Sequence[Outcome], path: Path) -> int:
    """Questions whose first sentence missed (or that were answered though unanswerable), as JSONL."""
    misses = [
        o for o in outcomes if (o.question.answers and o.rank != 1) or (not o.question.answers and o.answered)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for o in misses:
            handle.write(
                json.dumps(
                    {
                        "id": o.question.id,
                        "question": o.question.question,
                        "kind": o.question.kind,
                        "expected": o.question.answers,
                        "expected_article": o.question.article,
                        "rank": o.rank,
                        "answered": o.answered,
                        "quoted": o.sentences[0] if o.sentences else None,
                        "quoted_article": o.article_ids[0] if o.article_ids else None,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return len(misses)
