"""Measure the story relation (index/news/stories.py) over a whole data dir: how many article pairs the
centroid cosine alone joins, how many the relation joins, and a sample of the joined pairs to read.

    python bench/story_pairs.py DATA_DIR [--sample 30] [--seed 3]

Reads the store only (no model, no index); a copy of the data dir is safest while another process
writes to it. The relation is the one the settings hold (NEWSBOT_STORY_SIMILARITY, NEWSBOT_STORY_NAMES
from the environment, else the defaults). The numbers in index/news/stories.py's docstring come from
the BBC news set.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from index.core.settings import Settings
from index.news.stories import Stories
from index.search.candidates import Candidates
from index.search.termstats import TermStats
from index.storage.store import Store, from_blobs


def whole_store(store: Store) -> Candidates:
    """Every article of the store as one question's candidates would hold them."""
    dim = int(store.get_setting("dim") or 0)
    articles = {
        row["pk"]: row
        for row in store.query(
            "SELECT pk, id, title, published, title_vec FROM articles WHERE title_vec IS NOT NULL"
        )
    }
    sentences = store.query("SELECT pk, article_pk, idx, text, vec FROM sentences ORDER BY article_pk, idx")
    sentences = [s for s in sentences if s["article_pk"] in articles]
    vectors = from_blobs([s.pop("vec") for s in sentences], dim)
    titles = {pk: from_blobs([row.pop("title_vec")], dim)[0] for pk, row in articles.items()}
    return Candidates(sentences, articles, vectors, titles, np.ones(len(sentences), bool))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    store = Store(args.data_dir / "newsbot.db")
    candidates = whole_store(store)
    settings = Settings()
    stories = Stories(candidates, TermStats(store, settings), settings)
    pks = list(candidates.articles)
    centroids = np.stack([stories.centroid(pk) for pk in pks])
    close = np.argwhere(np.triu(centroids @ centroids.T, 1) >= settings.story_similarity)
    joined = [(pks[i], pks[j]) for i, j in close if stories.same(pks[i], pks[j])]
    n = len(pks)
    print(f"articles {n:,}; pairs {n * (n - 1) // 2:,}")
    print(f"cosine >= {settings.story_similarity}: {len(close):,} pairs; one story: {len(joined):,} pairs")
    random.seed(args.seed)
    for a, b in random.sample(joined, min(args.sample, len(joined))):
        first, second = candidates.articles[a], candidates.articles[b]
        print(f"  {first['id']} {first['title']!r} | {second['id']} {second['title']!r}")
    store.close()


if __name__ == "__main__":
    main()
