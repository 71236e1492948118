"""Fuzz whole ingests with hostile and careless files (not run by CI): nothing good is ever lost.

    python bench/fuzz_ingest.py [--examples 1500] [--seed 0]

Each example is a folder as a user might hand `newsbot ingest`: a JSON Lines file mixing good articles
with broken, binary, oversized and deeply nested lines, a JSON file, and text, Markdown and HTML files
of any text or bytes (the strategies of tests/strategies.py). All go into one data dir that keeps
growing, with the hash embedder (no model). After each ingest it checks that no exception escaped,
that every input came out as an article or a problem naming it, that every good article is stored
with its text, that nothing stored before changed, and that FAISS holds one vector per passage. It
prints how many files and inputs it tried and how many good articles were lost (0, or it fails).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from index.core.settings import Settings
from index.engine import Engine
from index.reading.readers import read_paths

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the shared strategies
from strategies import FILES, LINES, TEXT  # noqa: E402

log = logging.getLogger("fuzz_ingest")

_OTHER_FILES = st.lists(
    st.tuples(
        st.sampled_from([".json", ".txt", ".md", ".html"]),
        st.one_of(FILES, TEXT.map(lambda text: text.encode("utf-8", "surrogatepass"))),
    ),
    max_size=4,
)


class _Errors(logging.Handler):
    """Counts what the readers caught and logged as a bug (an input turned into a problem)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=1500, help="folders to ingest")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # it logs every page it cannot parse
    caught = _Errors()
    logging.getLogger("index.reading.readers").addHandler(caught)
    tally: Counter[str] = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Settings(data_dir=Path(tmp, "data"), model="hash", rerank=False, _env_file=None))
        good: dict[str, str] = {}  # id -> text of every good article ingested so far
        stored: dict[str, tuple] = {}  # id -> stored row, for every good article

        @seed(args.seed)
        @settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # the data dir grows from example to example: no shrinking
            suppress_health_check=list(HealthCheck),
        )
        @given(
            junk=st.lists(LINES, max_size=12),
            places=st.lists(st.integers(0, 12), max_size=4),
            other=_OTHER_FILES,
        )
        def example(junk: list[str], places: list[int], other: list[tuple[str, bytes]]) -> None:
            folder = Path(tempfile.mkdtemp(prefix="in-", dir=tmp))
            lines = list(junk)
            for place in places:  # good articles anywhere among the junk
                article_id, text = _good(len(good))
                good[article_id] = text
                lines.insert(
                    min(place, len(lines)), json.dumps({"id": article_id, "title": "Fuzz", "text": text})
                )
            (folder / "mixed.jsonl").write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
            for n, (suffix, data) in enumerate(other):
                (folder / f"other-{n}{suffix}").write_bytes(data)
            inputs = list(read_paths([folder]))
            report = engine.ingest_paths([folder])
            outcomes = report.new + report.updated + report.copies + report.skipped + len(report.problems)
            assert outcomes == len(inputs), (outcomes, len(inputs))  # each input an article or a problem
            assert all(p.origin.startswith(str(folder)) and p.message for p in report.problems)
            now = _rows(engine, list(good))
            assert set(now) == set(good), f"lost: {sorted(set(good) - set(now))}"
            assert all(now[i][0] == good[i] for i in good), "a good article's text changed"
            assert all(now[i] == stored[i] for i in stored), "an article stored earlier changed"
            stored.update(now)
            assert engine.index.count == engine.store.count("passages")
            tally.update(examples=1, files=1 + len(other), inputs=len(inputs), problems=len(report.problems))

        example()
        articles = engine.store.count("articles")
        engine.close()
    result = {
        "examples": tally["examples"],
        "files": tally["files"],
        "inputs": tally["inputs"],
        "problems_reported": tally["problems"],
        "good_articles": len(good),
        "good_articles_lost": len(good) - len(stored),
        "articles_stored": articles,
        "reader_errors_caught": caught.count,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, indent=2))


def _good(n: int) -> tuple[str, str]:
    """A good article of its own: every sentence names it, so it is no copy or edit of another."""
    return (
        f"fuzz-good-{n}",
        f"Fuzz report {n} opens here. Report {n} has a second sentence.\n\nReport {n} ends.",
    )


def _rows(engine: Engine, ids: list[str]) -> dict[str, tuple]:
    """Each stored article's text, title and sentences (offsets and vectors), by id."""
    rows = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in engine.store.query(
            f"SELECT pk, id, title, text FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            sentences = engine.store.query(
                "SELECT idx, start, end, text, vec FROM sentences WHERE article_pk = ? ORDER BY idx",
                [row["pk"]],
            )
            rows[row["id"]] = (row["text"], row["title"], tuple(tuple(s.values()) for s in sentences))
    return rows


if __name__ == "__main__":
    main()
