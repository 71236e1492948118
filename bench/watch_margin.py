"""Measure when a watch should fire (the `watch_margin` setting, NEWSBOT_WATCH_MARGIN, over the refusal
threshold; index/core/settings.py keeps what it measured).

    python bench/watch_margin.py [DATA_FOLDER]

On tests/fixtures/watch: the old articles are ingested, then each new article alone, and every watched
query is checked against that one new article as `Watches.check` does it (the engine's answer from the
new articles only). It prints each pair's confidence over the threshold, best first, marked where the
article is one the query should fire for, and for a few margins how many of those fire and how many
of the others, the margin the settings hold (the environment's, else the default) marked.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from index.core.settings import Settings
from index.engine import Engine
from index.features.watch import NewArticles

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "watch"
MARGINS = (-1.0, -0.5, -0.25, 0.0, 0.1, 0.25, 0.5, 0.75, 1.0)


def main(folder: Path) -> None:
    engine = Engine(Settings(data_dir=folder / "data", _env_file=None))
    engine.ingest_paths([FIXTURES / "old.jsonl"])
    watches: dict[str, list[str]] = json.loads((FIXTURES / "watches.json").read_text(encoding="utf-8"))
    threshold = engine.min_answer_score
    pairs = []  # (confidence over the threshold, should fire, query, article id)
    for line in (FIXTURES / "new.jsonl").read_text(encoding="utf-8").splitlines():
        article = json.loads(line)
        after = int(engine.store.query("SELECT max(pk) AS pk FROM articles")[0]["pk"])
        path = folder / f"{article['id']}.jsonl"
        path.write_text(line + "\n", encoding="utf-8")
        engine.ingest_paths([path])
        new = NewArticles(after=after, upto=after + 1)
        for query, fires_for in watches.items():
            result = engine.ask(query, None, new)
            over = result.confidence - threshold if result.answers else float("-inf")  # -inf: no quote
            pairs.append((over, article["id"] in fires_for, query, article["id"]))
    for over, wanted, query, article_id in sorted(pairs, reverse=True):
        print(f"{over:+7.2f} {'fire' if wanted else '    '}  {query!r} <- {article_id}")
    wanted_total = sum(wanted for _, wanted, _, _ in pairs)
    for margin in sorted({*MARGINS, engine.settings.watch_margin}):
        fired = [wanted for over, wanted, _, _ in pairs if over >= margin]
        print(
            f"margin {margin:4.2f}: {sum(fired)} of {wanted_total} wanted fire, "
            f"{len(fired) - sum(fired)} of {len(pairs) - wanted_total} others"
            + ("  <- the setting" if margin == engine.settings.watch_margin else "")
        )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(scratch))
