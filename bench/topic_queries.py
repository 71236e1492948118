"""How often a watch's kind of query, a few words of a title, finds its own story (not run by CI).

    python bench/topic_queries.py --data-dir /tmp/bbc ../shared/eval/news-dev/questions.jsonl \
        bench/data/news-check-*.jsonl bench/data/news-unseen-heldout.jsonl [--words 2 3] [--limit 150]

Watches and short /ask queries are topics ("ferry strike"), not questions, and a reranker trained on
questions alone can lose them. The articles are those the given question files ask about (articles
no reranker trains on when the files are the evaluation sets), every n-th of them up to ``--limit``;
each one's query is `train_reranker.topic_of` its title (what ``--topics`` trains on, drawn the same
way), answered as /ask answers it. A hit is a first quote from the title's own article. Set
NEWSBOT_RERANKER to measure another model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from train_reranker import topic_of

from index.core.settings import Settings
from index.engine import Engine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path, nargs="+", help="questions JSONL: their `article`s are read")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--words", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--limit", type=int, default=150)
    args = parser.parse_args()

    ids = sorted(
        {json.loads(line).get("article") for path in args.questions for line in path.open(encoding="utf-8")}
        - {None}
    )
    ids = ids[:: max(1, len(ids) // args.limit)][: args.limit]
    engine = Engine(Settings(data_dir=args.data_dir))
    try:
        titles = {i: row["title"] for i in ids if (row := engine.store.article_in_scope(i, None))}
        report: dict[str, object] = {
            "articles": len(titles),
            "reranker": engine.settings.reranker or "models/reranker",
        }
        for words in args.words:
            queries = {i: topic_of(title, i, words) for i, title in titles.items()}
            results = engine.ask_many(list(queries.values()))
            found = [
                bool(r.answers) and r.answers[0].article.id == i
                for i, r in zip(queries, results, strict=True)
            ]
            report[f"{words} words"] = {
                "own story first": sum(found),
                "refused": sum(not r.answers for r in results),
            }
        print(json.dumps(report, indent=2))
    finally:
        engine.close()


if __name__ == "__main__":
    main()
