"""`newsbot ask` and `newsbot search`: questions answered with quotes, and articles found."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.engine import engine_with_news, filters_of
from bot.cli.parents import Parents, Subparsers, top_k
from bot.cli.quotes import citation, format_result, quoted
from index import EngineError, QuestionError, Settings

if TYPE_CHECKING:
    from index import Engine, Filters


def add_ask(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser("ask", parents=[parents.common, parents.filters], help="answer a question with quotes")
    p.add_argument("question", nargs="*", help="the question")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object (one per line with --questions)"
    )
    p.add_argument("-k", type=top_k, default=None, help="how many ranked answers to keep (default 5)")
    p.add_argument(
        "--questions", type=Path, help='JSONL file of {"question": ...} objects to answer in order'
    )
    p.set_defaults(handler=_ask)


def add_search(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "search", parents=[parents.common, parents.filters], help="find articles and their best passage"
    )
    p.add_argument("query", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("-k", type=top_k, default=None, help="how many articles (default 5)")
    p.set_defaults(handler=_search)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    filters = filters_of(args)  # a mistyped option is reported before anything else
    engine = engine_with_news(settings)
    if args.questions:
        for line in _answer_file(engine, args.questions, args.k, filters):
            print(json.dumps(line, ensure_ascii=False), flush=True)
        return 0
    result = engine.ask(" ".join(args.question), args.k, filters)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if args.json else format_result(result))
    return 0


def _answer_file(engine: Engine, path: Path, k: int | None, filters: Filters) -> Iterator[dict[str, Any]]:
    """One output object per input line, in order; a bad line gets an `error` instead of answers."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EngineError(f"cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            question = str(json.loads(line)["question"])
        except (ValueError, KeyError, TypeError):
            question, problem = "", f'{path}:{number}: expected a JSON object with a "question" string'
        else:
            try:
                yield engine.ask(question, k, filters).to_dict()
                continue
            except QuestionError as exc:
                problem = str(exc)
        yield {"question": question, "answered": False, "answers": [], "error": problem}


def _search(args: argparse.Namespace, settings: Settings) -> int:
    filters = filters_of(args)
    hits = engine_with_news(settings).search(" ".join(args.query), args.k, filters)
    if args.json:
        print(
            json.dumps(
                {"query": " ".join(args.query), "results": [h.to_dict() for h in hits]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not hits:
        print("No articles match.")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank}. {hit.article.title} ({hit.score:.2f})\n{citation(hit.article)}")
        print(f"{quoted(hit.passage)}\n")
    return 0
