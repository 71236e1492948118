"""`newsbot eval`: answer quality measured on a questions file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bot.cli.engine import engine_with_news
from bot.cli.parents import Parents, Subparsers
from index import EngineError, Settings

if TYPE_CHECKING:
    from index import AskResult, Engine


def add_eval(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "eval", parents=[parents.common, parents.scoped], help="measure answer quality on a questions file"
    )
    p.add_argument(
        "questions",
        type=Path,
        nargs="+",
        metavar="QUESTIONS.jsonl",
        help="one or more files; with several, the report also breaks the scores down by file (by_file)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument(
        "--articles",
        choices=("even", "odd"),
        help="only questions whose article is at an even / odd 0-based line of --articles-file "
        "(reqa-squad: odd = the held-out half)",
    )
    p.add_argument("--articles-file", type=Path, help="the articles JSONL that --articles counts lines of")
    p.add_argument(
        "--misses",
        type=Path,
        default=None,
        help="where to write the misses as JSONL (default: DATA_DIR/eval-misses.jsonl)",
    )
    p.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from index import evaluate

    if bool(args.articles) != bool(args.articles_file):
        raise EngineError(
            "--articles and --articles-file go together, e.g. --articles odd --articles-file A.jsonl"
        )
    try:
        questions = [q for path in args.questions for q in evaluate.load_questions(path)]
        if args.articles:
            questions = evaluate.by_position(questions, args.articles_file, args.articles)
    except OSError as exc:
        raise EngineError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except ValueError as exc:
        raise EngineError(str(exc)) from exc
    questions = questions[: args.limit] if args.limit else questions
    engine = engine_with_news(settings)
    outcomes = evaluate.run(cast("Engine", _InScope(engine, args.guild)) if args.guild else engine, questions)
    report = evaluate.summarize(outcomes)
    misses_path = args.misses or settings.data_dir / "eval-misses.jsonl"
    report["misses"] = {"count": evaluate.write_misses(outcomes, misses_path), "file": str(misses_path)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [("questions", report["questions"]), ("answerable", report["answerable"])]
    rows += [
        (key, report.get(key))
        for key in ("hit@1", "hit@3", "mrr@10", "refused_answerable", "unanswerable", "refused_unanswerable")
    ]
    rows += [
        ("latency mean ms", report.get("latency_ms", {}).get("mean")),
        ("latency p95 ms", report.get("latency_ms", {}).get("p95")),
    ]
    for key, value in rows:
        print(f"{key:22} {'-' if value is None else value}")
    for group in ("by_kind", "by_file"):
        for name, scores in report.get(group, {}).items():
            print(
                f"  {name:20} n={scores['questions']:<4} hit@1={scores.get('hit@1', '-')} "
                f"hit@3={scores.get('hit@3', '-')} refused={scores['refused']}"
            )
    print(f"misses: {report['misses']['count']} written to {misses_path}")
    return 0


class _InScope:
    """The engine as `evaluate.run` uses it, asking every question in one server's scope."""

    def __init__(self, engine: Engine, scope: str) -> None:
        self.engine, self.scope = engine, scope

    def ask(self, question: str, k: int | None = None) -> AskResult:
        from index import Filters

        return self.engine.ask(question, k, Filters(scope=self.scope))
