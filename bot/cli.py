"""The `newsbot` command line: ingest, ask, search, stats (and the bot's serve/sync)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from index import MAX_TOP_K, EngineError, QuestionError, Settings

if TYPE_CHECKING:  # the engine is imported on demand: `newsbot --help` needs none of it
    from bot.settings import BotSettings
    from index import ArticleRef, AskResult, Engine, Filters, Watches

log = logging.getLogger("newsbot")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = Settings(**overrides)
    try:
        return args.handler(args, settings)
    except QuestionError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="where the index lives (default: NEWSBOT_DATA_DIR)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument(
        "--guild",
        type=_guild,
        metavar="ID",
        help="in this Discord server's scope: its own news beside the shared (default: shared news only)",
    )
    filters = argparse.ArgumentParser(add_help=False, parents=[scoped])
    filters.add_argument("--outlet", help="only articles from this outlet")
    filters.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    filters.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")

    parser = argparse.ArgumentParser(
        prog="newsbot", description="Answers questions by quoting the news.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common, scoped], help="add articles from files, folders or URLs")
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help=".txt .md .html .json .jsonl files, folders, URLs"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_ingest)

    p = sub.add_parser("ask", parents=[common, filters], help="answer a question with quotes")
    p.add_argument("question", nargs="*", help="the question")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object (one per line with --questions)"
    )
    p.add_argument("-k", type=_top_k, default=None, help="how many ranked answers to keep (default 5)")
    p.add_argument(
        "--questions", type=Path, help='JSONL file of {"question": ...} objects to answer in order'
    )
    p.set_defaults(handler=_ask)

    p = sub.add_parser("search", parents=[common, filters], help="find articles and their best passage")
    p.add_argument("query", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("-k", type=_top_k, default=None, help="how many articles (default 5)")
    p.set_defaults(handler=_search)

    p = sub.add_parser("eval", parents=[common, scoped], help="measure answer quality on a questions file")
    p.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
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

    feeds = sub.add_parser("feeds", help="RSS/Atom feeds polled for new articles")
    feed_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    p = feed_sub.add_parser("add", parents=[common, scoped], help="follow a feed")
    p.add_argument("url")
    p.add_argument("--name", help="a name to show for the feed")
    p.set_defaults(handler=_feeds_add)
    p = feed_sub.add_parser("list", parents=[common, scoped], help="the feeds and their health")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_feeds_list)
    p = feed_sub.add_parser("remove", parents=[common, scoped], help="stop following a feed")
    p.add_argument("url")
    p.set_defaults(handler=_feeds_remove)
    p = feed_sub.add_parser(
        "poll",
        parents=[common, scoped],
        help="one pass over all feeds (with --guild: that server's), ingesting new items",
    )
    p.add_argument("--force", action="store_true", help="also poll feeds that are backing off after errors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_feeds_poll)

    p = sub.add_parser("reindex", parents=[common], help="re-embed everything with the configured model")
    p.set_defaults(handler=_reindex)

    p = sub.add_parser("forget", parents=[common, scoped], help="delete an article by its id or URL")
    p.add_argument("article", metavar="ID|URL")
    p.set_defaults(handler=_forget)

    p = sub.add_parser("stats", parents=[common, scoped], help="what the index holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_stats)

    p = sub.add_parser(
        "trend", parents=[common, scoped], help="chart the articles on something over time, by outlet"
    )
    p.add_argument("query", nargs="+", metavar="QUERY")
    p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    p.add_argument("--out", type=_png, required=True, metavar="FILE.png", help="where to write the chart")
    p.set_defaults(handler=_trend, outlet=None)

    feedback = sub.add_parser("feedback", help="the votes on answers")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    p = feedback_sub.add_parser(
        "export",
        parents=[common, scoped],
        help="write the votes as eval questions (JSONL; with --guild: on that server's news too)",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(handler=_feedback_export)

    watch = sub.add_parser(
        "watch", help="standing queries on shared news, checked against new articles (servers: /watch)"
    )
    watch_sub = watch.add_subparsers(dest="watch_command", required=True)
    p = watch_sub.add_parser("add", parents=[common], help="watch a query from now on")
    p.add_argument("query", nargs="+", metavar="QUERY")
    p.set_defaults(handler=_watch_add)
    p = watch_sub.add_parser("list", parents=[common], help="the watches")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_watch_list)
    p = watch_sub.add_parser("remove", parents=[common], help="stop a watch")
    p.add_argument("id", type=int, metavar="ID", help="the watch's number, as `newsbot watch list` shows it")
    p.set_defaults(handler=_watch_remove)
    p = watch_sub.add_parser(
        "check", parents=[common], help="per watch, the best quote of the articles new since its last check"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per match")
    p.set_defaults(handler=_watch_check)

    p = sub.add_parser("serve", parents=[common], help="run the Discord bot (needs DISCORD_TOKEN)")
    p.set_defaults(handler=_serve)
    p = sub.add_parser("sync", parents=[common], help="register the bot's slash commands with Discord now")
    p.add_argument(
        "--guild", type=int, help="in this server only (instant; default: NEWSBOT_GUILD_ID, else all)"
    )
    p.set_defaults(handler=_sync)
    return parser


def _guild(text: str) -> str:
    """A Discord server id (a snowflake), as the engine names its scope."""
    if not text.strip().isdecimal():
        raise argparse.ArgumentTypeError(f"must be a Discord server id (digits only), not {text!r}")
    return str(int(text))


def _open(settings: Settings) -> Engine:
    from index import Engine

    return Engine(settings)


def _filters(args: argparse.Namespace) -> Filters:
    from index import Filters

    try:
        return Filters(outlet=args.outlet, since=args.since, until=args.until, scope=args.guild)
    except ValueError as exc:
        raise QuestionError(str(exc).replace("`since`", "--since").replace("`until`", "--until")) from None


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    engine = _open(settings)
    from index import PRESPLIT_WORKERS as WORKERS  # this main module is guarded, as spawned workers need

    report = engine.ingest_sources(
        args.paths, progress=sys.stderr.isatty(), scope=args.guild, split_workers=WORKERS
    )
    for problem in report.problems:
        print(f"{problem.origin}: {problem.message}", file=sys.stderr)
    print(json.dumps(report.to_dict()) if args.json else report.summary())
    return 0 if report.stored or report.skipped else 1


def _top_k(text: str) -> int:
    """-k as the engine takes it; argparse shows the message and exits 2 otherwise."""
    if not (text.strip().isdecimal() and 1 <= int(text) <= MAX_TOP_K):
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_TOP_K}, not {text!r}")
    return int(text)


def _engine_with_news(settings: Settings) -> Engine:
    """The engine for questions. A data dir with nothing ingested (often a mistyped path) would only
    ever say the news doesn't say: it is an error saying how to ingest, and is not created."""
    engine = _open(settings) if settings.db_path.exists() or settings.data_dir.is_file() else None
    if engine is not None and engine.store.count("articles"):
        return engine
    if engine is not None:
        engine.close()
    raise EngineError(
        f"nothing has been ingested into {settings.data_dir}: add articles with "
        f"`newsbot ingest --data-dir {settings.data_dir} PATH...` (files, folders or URLs), "
        "or check --data-dir / NEWSBOT_DATA_DIR"
    )


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    filters = _filters(args)  # a mistyped option is reported before anything else
    engine = _engine_with_news(settings)
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


def format_result(result: AskResult) -> str:
    if not result.answers:
        return "The news I have doesn't say: nothing indexed matches that question."
    if not result.answered:
        return (
            "The news I have doesn't say. The closest passage is not a confident answer:\n\n"
            f"{_quoted(result.answers[0].quote)}\n{_citation(result.answers[0].article)}\n\n"
            f"Try `newsbot search {json.dumps(result.question)}` to browse related articles."
        )
    best = result.answers[0]
    return f"{_quoted(best.quote)}\n{_citation(best.article)}"


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _citation(article: ArticleRef) -> str:
    claim = f" (claims: {article.claimed_source})" if article.claimed_source else ""
    source = f"uploaded to server {article.scope}" if article.uploaded else article.source or "unknown outlet"
    source += claim
    parts = [article.title, source, (article.published or "undated")[:10]]
    if article.url:
        parts.append(article.url)
    return "  — " + " · ".join(parts)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    filters = _filters(args)
    hits = _engine_with_news(settings).search(" ".join(args.query), args.k, filters)
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
        print(f"{rank}. {hit.article.title} ({hit.score:.2f})\n{_citation(hit.article)}")
        print(f"{_quoted(hit.passage)}\n")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from index import evaluate

    if bool(args.articles) != bool(args.articles_file):
        raise EngineError(
            "--articles and --articles-file go together, e.g. --articles odd --articles-file A.jsonl"
        )
    try:
        questions = evaluate.load_questions(args.questions)
        if args.articles:
            questions = evaluate.by_position(questions, args.articles_file, args.articles)
    except OSError as exc:
        raise EngineError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except ValueError as exc:
        raise EngineError(str(exc)) from exc
    questions = questions[: args.limit] if args.limit else questions
    engine = _engine_with_news(settings)
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
    for kind, scores in report.get("by_kind", {}).items():
        print(
            f"  {kind:20} n={scores['questions']:<4} hit@1={scores.get('hit@1', '-')} "
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


def _feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        feed = _open(settings).feeds.add(args.url, args.name, scope=args.guild)
    except ValueError as exc:
        raise EngineError(str(exc)) from exc
    print(f"following {feed.url}" + (f" ({feed.name})" if feed.name else "") + "; run `newsbot feeds poll`")
    return 0


def _feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    feeds = _open(settings).feeds.list(args.guild)
    if args.json:
        print(json.dumps([_jsonable(asdict(f)) for f in feeds], indent=2))
        return 0
    if not feeds:
        print("No feeds yet: `newsbot feeds add URL`.")
    for feed in feeds:
        health = (
            "ok"
            if not feed.consecutive_failures
            else f"failing ×{feed.consecutive_failures}: {feed.last_error}"
        )
        last = feed.last_ok_at.isoformat(timespec="minutes") if feed.last_ok_at else "never"
        print(f"{feed.url}  {feed.name or ''}\n    last ok: {last}; {health}")
    return 0


def _feeds_remove(args: argparse.Namespace, settings: Settings) -> int:
    if _open(settings).feeds.remove(args.url, scope=args.guild):
        print(f"stopped following {args.url}")
        return 0
    print(f"newsbot: not following {args.url}; see `newsbot feeds list`", file=sys.stderr)
    return 1


def _feeds_poll(args: argparse.Namespace, settings: Settings) -> int:
    engine = _open(settings)
    report = asyncio.run(engine.poll_feeds(args.force, scope=args.guild, every_scope=args.guild is None))
    if args.json:
        print(json.dumps(_jsonable(asdict(report)), indent=2))
    else:
        for result in report.failed:
            print(f"{result.url}: {result.error}", file=sys.stderr)
        print(report.summary())
    return 1 if report.feeds and len(report.failed) == len(report.feeds) else 0


def _forget(args: argparse.Namespace, settings: Settings) -> int:
    title = _open(settings).forget(args.article, args.guild)
    print(f"forgot {title!r}")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    engine = _open(settings)
    sentences = engine.reindex(progress=sys.stderr.isatty())
    print(
        f"re-embedded {sentences} sentences with {engine.model_name}; {engine.index.count} passages indexed"
    )
    return 0


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = _open(settings).stats(args.guild)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"data dir:  {stats['data_dir']}   scope: {stats['scope']}")
    print(f"articles:  {stats['articles']}   passages: {stats['passages']}   sentences: {stats['sentences']}")
    print(f"published: {stats['published']['first'] or '?'} to {stats['published']['last'] or '?'}")
    print(f"last ingest: {stats['last_ingest'] or 'never'}")
    print(f"model:     {stats['index']['model'] or '(none yet)'} (dim {stats['index']['dim'] or '?'})")
    print("outlets:   " + (", ".join(f"{o['source']} ({o['articles']})" for o in stats["outlets"]) or "none"))
    return 0


def _png(text: str) -> Path:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"the chart is a PNG: name a .png file, not {text!r}")
    return Path(text)


def _trend(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chart import draw
    from index import trend_of

    filters = _filters(args)
    trend = trend_of(_engine_with_news(settings), " ".join(args.query), filters)
    if not trend.total:
        print(f"newsbot: {trend.summary()}", file=sys.stderr)
        return 1
    try:
        args.out.write_bytes(draw(trend))
    except OSError as exc:
        raise EngineError(f"cannot write the chart to {args.out}: {exc.strerror}") from exc
    print(f"{args.out}: {trend.summary()}")
    return 0


def _feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from index import Feedback

    try:
        report = Feedback(_open(settings).store).export(args.file, args.guild)
    except OSError as exc:
        raise EngineError(f"cannot write {args.file}: {exc.strerror}") from exc
    print(f"wrote {args.file}: {report.questions} questions with {report.answers} answers voted up")
    if report.down_only:
        print(
            f"left out {report.down_only} questions with no answer voted up on balance: "
            "a vote down says which quote is wrong, not which is right"
        )
    return 0


def _watches(settings: Settings) -> Watches:
    from index import Watches

    return Watches(_open(settings))


def _watch_add(args: argparse.Namespace, settings: Settings) -> int:
    watch = _watches(settings).add(" ".join(args.query))
    print(f"watching “{watch.query}” (watch {watch.id}): `newsbot watch check` prints new articles on it")
    return 0


def _watch_list(args: argparse.Namespace, settings: Settings) -> int:
    watches = _watches(settings).list()
    if args.json:
        print(json.dumps([asdict(w) for w in watches], ensure_ascii=False, indent=2))
        return 0
    if not watches:
        print("No watches yet: `newsbot watch add QUERY`.")
    for watch in watches:
        print(f"{watch.id}  “{watch.query}”  since {watch.created_at[:10]}")
    return 0


def _watch_remove(args: argparse.Namespace, settings: Settings) -> int:
    watch = _watches(settings).remove(args.id)
    if watch is None:
        print(f"newsbot: there is no watch {args.id}; see `newsbot watch list`", file=sys.stderr)
        return 1
    print(f"stopped watching “{watch.query}”")
    return 0


def _watch_check(args: argparse.Namespace, settings: Settings) -> int:
    """Each watch's articles are checked once: a second check reports only what came in since."""
    watches = _watches(settings)
    checked = watches.list()
    matches = [m for m in map(watches.check, checked) if m is not None]
    for match in matches:
        watch, answer = match.watch, match.answer
        if args.json:
            line = {"watch": watch.id, "query": watch.query, "answer": answer.to_dict()}
            print(json.dumps(line, ensure_ascii=False))
        else:
            print(f"watch {watch.id} “{watch.query}”:\n{_quoted(answer.quote)}")
            print(f"{_citation(answer.article)}\n")
    if not args.json:
        print(f"{len(matches)} of {len(checked)} watches matched new articles")
    return 0


def _bot_settings(settings: Settings, **overrides: Any) -> BotSettings:
    from bot.settings import BotSettings  # discord.py loads only for the bot's own commands

    return BotSettings(**(settings.model_dump() | overrides))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    app.run(_bot_settings(settings))
    return 0


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    bot_settings = _bot_settings(settings, **({"guild_id": args.guild} if args.guild else {}))
    synced = asyncio.run(app.sync(bot_settings))
    where = f"in server {bot_settings.guild_id}" if bot_settings.guild_id else "globally"
    print(f"registered {len(synced)} slash commands {where}: " + ", ".join(f"/{c.name}" for c in synced))
    return 0
