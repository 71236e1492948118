"""Question-term statistics whose cost is bounded by the candidates, not the corpus.

A term's sentence frequency comes from the store's term statistics (`NewsStore.sentence_term_counts`:
in SQLite FTS5's vocabulary table, a seek, not a read of the whole posting list into Python); which
candidate sentences hold a term is decided by FTS5's own porter tokenizer over just those sentences, in a
private in-memory table, so stems agree with SQLite's BM25 search. (PostgreSQL's index stems with
Snowball's `english`, which differs from porter for about 7% of words: there, which candidate holds a
word may differ from what the index matched, for those words.)
"""

from __future__ import annotations

import sqlite3
import threading

import numpy as np

from index.core.settings import RetrievalSettings
from index.storage.interface import NewsStore

# Words whose stems (and stems whose counts) are remembered: a memory bound, not a behaviour, as a stem
# depends on the word alone and a count on the store's generation, so forgetting one costs only time.
STEM_CACHE = 50_000

_UNSEEN = object()


class TermStats:
    def __init__(self, store: NewsStore, settings: RetrievalSettings) -> None:
        self.store = store
        self.settings = settings  # common_share and postings_budget: which terms `searchable` keeps
        self._local = threading.local()  # one scratch database per thread: questions run in parallel
        self._stems: dict[str, str | None] = {}  # shared by threads: single gets and sets are atomic
        # Sentence counts by stem, for one store generation (swapped whole, so no thread mixes two):
        # a vocabulary look-up reads the term's whole posting list, and a question asks three times.
        self._counts: tuple[int, dict[str, int]] = (-1, {})

    @property
    def _scratch(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(":memory:")
            con.execute("CREATE VIRTUAL TABLE texts USING fts5(text, tokenize='porter')")
            con.execute("CREATE VIRTUAL TABLE stems USING fts5vocab(texts, 'instance')")
            self._local.con = con
        return con

    def total(self) -> int:
        """About how many sentences there are: the highest pk, an O(log n) look-up (deleted
        sentences count too, a small over-estimate for IDF)."""
        return int(self.store.query("SELECT coalesce(max(pk), 0) AS n FROM sentences")[0]["n"])

    def frequencies(self, words: list[str]) -> np.ndarray:
        """How many stored sentences hold each word, as FTS5 stems it."""
        stems = self.stems(words)
        generation = self.store.generation()
        seen, counts = self._counts
        if seen != generation or len(counts) > STEM_CACHE:
            counts = {}
            self._counts = (generation, counts)
        wanted = {stem: word for word, stem in zip(words, stems, strict=True) if stem and stem not in counts}
        if wanted:
            counts.update(self.store.sentence_term_counts(wanted))
        return np.asarray([counts.get(stem, 0) if stem else 0 for stem in stems], dtype=float)

    def idf(self, words: list[str]) -> np.ndarray:
        total = self.total()
        df = self.frequencies(words)
        return np.log(1 + (total - df + 0.5) / (df + 0.5))

    def stems(self, words: list[str]) -> list[str | None]:
        """Each word as FTS5's porter tokenizer indexes it (None when it yields no token); words seen
        before are not tokenized again."""
        known: dict[str, str | None] = {}
        for word in words:
            if (stem := self._stems.get(word, _UNSEEN)) is not _UNSEEN:
                known[word] = stem
        new = [w for w in dict.fromkeys(words) if w not in known]
        if new:
            con = self._scratch
            with con:
                con.execute("DELETE FROM texts")
                con.executemany("INSERT INTO texts(rowid, text) VALUES (?, ?)", enumerate(new))
                found = dict(con.execute("SELECT doc, term FROM stems WHERE col = 'text' AND offset = 0"))
            stems = {w: found.get(j) for j, w in enumerate(new)}
            if len(self._stems) + len(new) > STEM_CACHE:
                self._stems.clear()
            self._stems.update(stems)
            known.update(stems)
        return [known[w] for w in words]

    def presence(self, words: list[str], texts: list[str]) -> np.ndarray:
        """len(texts) x len(words): which texts hold each word, matched as the BM25 search matches."""
        hold = np.zeros((len(texts), len(words)), dtype=bool)
        if not words or not texts:
            return hold
        con = self._scratch
        with con:
            con.execute("DELETE FROM texts")
            con.executemany("INSERT INTO texts(rowid, text) VALUES (?, ?)", enumerate(texts))
            for j, word in enumerate(words):
                phrase = '"' + word.replace('"', "") + '"'
                rows = [r[0] for r in con.execute("SELECT rowid FROM texts WHERE texts MATCH ?", [phrase])]
                hold[rows, j] = True
        return hold

    def searchable(self, words: list[str]) -> list[str]:
        """The words worth an OR search, in the question's order: the rarest first, while their
        sentence counts stay within ``postings_budget`` and each is held by at most ``common_share`` of
        the sentences (so FTS5 never scores every sentence that says "said"); the rarest always."""
        if len(words) < 2:
            return words
        limit = self.settings.common_share * max(self.total(), 1)
        counts = self.frequencies(words)
        kept, spent = set(), 0.0
        for j in np.argsort(counts, kind="stable"):
            if kept and (counts[j] > limit or spent + counts[j] > self.settings.postings_budget):
                break
            kept.add(int(j))
            spent += counts[j]
        return [w for j, w in enumerate(words) if j in kept]
