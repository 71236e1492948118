"""`newsbot trend` and `newsbot feedback export`: coverage over time, and the votes on answers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.engine import engine_with_news, filters_of, open_engine
from bot.cli.parents import Parents, Subparsers, add_dates
from bot.reports import trend_summary
from index import EngineError, Settings


def add_trend(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "trend",
        parents=[parents.common, parents.scoped],
        help="chart the articles on something over time, by outlet",
    )
    p.add_argument("query", nargs="+", metavar="QUERY")
    add_dates(p)
    p.add_argument("--out", type=_png, required=True, metavar="FILE.png", help="where to write the chart")
    p.set_defaults(handler=_trend, outlet=None)


def add_feedback(sub: Subparsers, parents: Parents) -> None:
    feedback = sub.add_parser("feedback", help="the votes on answers")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    p = feedback_sub.add_parser(
        "export",
        parents=[parents.common, parents.scoped],
        help="write the votes as eval questions (JSONL; with --guild: on that server's news too)",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(handler=_feedback_export)


def _png(text: str) -> Path:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"the chart is a PNG: name a .png file, not {text!r}")
    return Path(text)


def _trend(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chart import draw
    from index import trend_of

    filters = filters_of(args)
    trend = trend_of(engine_with_news(settings), " ".join(args.query), filters)
    if not trend.total:
        print(f"newsbot: {trend_summary(trend)}", file=sys.stderr)
        return 1
    try:
        args.out.write_bytes(draw(trend))
    except OSError as exc:
        raise EngineError(f"cannot write the chart to {args.out}: {exc.strerror}") from exc
    print(f"{args.out}: {trend_summary(trend)}")
    return 0


def _feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from index import Feedback

    try:
        report = Feedback(open_engine(settings).store).export(args.file, args.guild)
    except OSError as exc:
        raise EngineError(f"cannot write {args.file}: {exc.strerror}") from exc
    print(f"wrote {args.file}: {report.questions} questions with {report.answers} answers voted up")
    if report.down_only:
        print(
            f"left out {report.down_only} questions with no answer voted up on balance: "
            "a vote down says which quote is wrong, not which is right"
        )
    return 0
