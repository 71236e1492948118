"""Keyword search on PostgreSQL: `tsvector` columns with GIN indexes, ranked by a BM25 computed in SQL.

SQLite ranks with FTS5's BM25 (k1 = 1.2, b = 0.75, IDF ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6;
an article's title counts twice its text). `ts_rank_cd` knows no IDF, so a sentence holding only the
question's commonest word would rank with one holding its rarest; the same BM25 is computed here instead,
from term statistics kept in step with the rows by triggers (`text_search_terms`, PostgreSQL's
counterpart of FTS5's vocabulary table): per source table, the rows holding each lexeme, and under the
empty lexeme the rows and their tokens (for the average length). A row's length is its last word
position, which counts stop words as FTS5 does. Words are stemmed by the ``english`` configuration
(Snowball's Porter 2), so a few words stem otherwise than FTS5's porter (``says`` is ``say`` here,
``sai`` there).

Statements use ``?`` placeholders, as every statement the engine sends its store (see
`index.storage.interface`), and `PostgresTextSearch` runs them through the store's own ``query``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from index.storage.store import Filters

K1 = 1.2  # FTS5's bm25() constants: the same ranking on both backends
B = 0.75
MIN_IDF = 1e-6  # FTS5 floors the IDF of a term in more than half the rows here

# Migration 2 of schema.MIGRATIONS, run in order; each statement is also a no-op when already applied,
# and the rows a database held before it are counted once.
TEXT_SEARCH_DDL: tuple[str, ...] = (
    "ALTER TABLE sentences ADD COLUMN IF NOT EXISTS tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', coalesce(text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS idx_sentences_tsv ON sentences USING gin (tsv)",
    # The title's words weigh A, the text's B: the BM25 counts an A position twice, as FTS5 does.
    "ALTER TABLE articles ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(text, '')), 'B')) STORED",
    "CREATE INDEX IF NOT EXISTS idx_articles_tsv ON articles USING gin (tsv)",
    "CREATE TABLE IF NOT EXISTS text_search_terms (source TEXT NOT NULL, lexeme TEXT NOT NULL, "
    "docs BIGINT NOT NULL, tokens BIGINT NOT NULL, PRIMARY KEY (source, lexeme))",
    # A row's length in words, stop words included: its last position (PostgreSQL caps them at 16383).
    "CREATE OR REPLACE FUNCTION text_search_length(t tsvector) RETURNS integer "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
    "$$ SELECT coalesce(max(p), 0) FROM unnest(t) u, unnest(u.positions) p $$",
    # Add (sign 1) or take away (-1) these rows' lexemes, and their number and length under ''. In
    # lexeme order, so two writers lock the same rows in the same order and never deadlock.
    "CREATE OR REPLACE FUNCTION text_search_count(src text, changed tsvector[], sign integer) "
    "RETURNS void LANGUAGE sql AS $$ "
    "INSERT INTO text_search_terms AS t (source, lexeme, docs, tokens) "
    "SELECT src, lexeme, sign * count(*), sign * sum(n) FROM ("
    "SELECT u.lexeme, 0 AS n FROM unnest(changed) AS v(tsv), unnest(v.tsv) AS u "
    "UNION ALL SELECT '', text_search_length(v.tsv) FROM unnest(changed) AS v(tsv)) x "
    "GROUP BY lexeme ORDER BY lexeme "
    "ON CONFLICT (source, lexeme) DO UPDATE SET docs = t.docs + excluded.docs, "
    "tokens = t.tokens + excluded.tokens $$",
    "CREATE OR REPLACE FUNCTION text_search_tally() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' THEN "
    "PERFORM text_search_count(TG_TABLE_NAME, ARRAY(SELECT tsv FROM added), 1); "
    "ELSIF TG_OP = 'DELETE' THEN "
    "PERFORM text_search_count(TG_TABLE_NAME, ARRAY(SELECT tsv FROM gone), -1); "
    "ELSE "  # an update counts only where the words changed: new vectors leave the text as it was
    "PERFORM text_search_count(TG_TABLE_NAME, ARRAY(SELECT g.tsv FROM gone g JOIN added a USING (pk) "
    "WHERE g.tsv IS DISTINCT FROM a.tsv), -1); "
    "PERFORM text_search_count(TG_TABLE_NAME, ARRAY(SELECT a.tsv FROM gone g JOIN added a USING (pk) "
    "WHERE g.tsv IS DISTINCT FROM a.tsv), 1); "
    "END IF; RETURN NULL; END $$",
    *(
        statement
        for table in ("sentences", "articles")
        for statement in (
            f"CREATE OR REPLACE TRIGGER {table}_terms_ai AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION text_search_tally()",
            f"CREATE OR REPLACE TRIGGER {table}_terms_ad AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION text_search_tally()",
            f"CREATE OR REPLACE TRIGGER {table}_terms_au AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT "
            "EXECUTE FUNCTION text_search_tally()",
            # Rows stored before the triggers existed are counted once, when the table has no counts yet
            # (an empty table gets none: its first insert makes them).
            f"SELECT text_search_count('{table}', ARRAY(SELECT tsv FROM {table}), 1) "
            f"WHERE NOT EXISTS (SELECT 1 FROM text_search_terms WHERE source = '{table}')",
        )
    ),
)


def _idf(source: str) -> str:
    """SQL of the CTEs ``q``, the distinct lexemes of the words (the ``?``, a text[]), ``total``, the
    rows of ``source`` and their average length, ``idf``, each lexeme's BM25 IDF over those rows, and
    ``wanted``, the tsquery OR-ing the lexemes."""
    return (
        "q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', w))) AS lexeme "
        "FROM unnest(?::text[]) AS w), "
        "total AS (SELECT greatest(docs, 1) AS n, greatest(tokens, 1)::float8 / greatest(docs, 1) AS avgdl "
        f"FROM text_search_terms WHERE source = '{source}' AND lexeme = ''), "
        "idf AS MATERIALIZED (SELECT q.lexeme, greatest(ln((total.n - coalesce(t.docs, 0) + 0.5) / "
        f"(coalesce(t.docs, 0) + 0.5)), {MIN_IDF})::float8 AS idf FROM q CROSS JOIN total "
        f"LEFT JOIN text_search_terms t ON t.source = '{source}' AND t.lexeme = q.lexeme), "
        "wanted AS (SELECT array_to_string(array_agg(quote_literal(lexeme)), ' | ')::tsquery AS query FROM q)"
    )


def _scores(rows: str, keys: str, frequency: str) -> str:
    """SQL of ``keys`` and ``score``, the BM25 of each row of ``rows`` (a CTE with ``keys``, ``tsv`` and
    ``len``, its `_LENGTH`), a lexeme's frequency in it being ``frequency`` (over ``u``, its
    entry in the tsvector); needs the ``idf`` and ``total`` of `_idf`. One join and one grouping over
    every row's lexemes, where a subquery per row cost a plan run each (0.08 ms, 4,500 rows a question)."""
    return (
        f"SELECT {keys}, sum(i.idf * f.tf * {K1 + 1} / "
        f"(f.tf + {K1} * ({1 - B} + {B} * r.len / total.avgdl))) AS score "
        f"FROM {rows} r CROSS JOIN total CROSS JOIN LATERAL unnest(r.tsv) u "
        f"JOIN idf i ON i.lexeme = u.lexeme CROSS JOIN LATERAL (SELECT ({frequency})::float8 AS tf) f "
        f"GROUP BY {keys}"
    )


# A row's `text_search_length` (its last position; a tsvector's positions are sorted), as ``l.len``:
# written out here, since calling the SQL function took 25 us a row (it cannot be inlined).
_LENGTH = "CROSS JOIN LATERAL (SELECT max(x.p[cardinality(x.p)]) AS len FROM unnest({row}.tsv) x(l, p, w)) l"
_SENTENCE_TF = "array_length(u.positions, 1)"
# FTS5 weighs a title word by the title column's 2.0 and a text word by 1.0.
_ARTICLE_TF = "(SELECT sum(CASE w WHEN 'A' THEN 2 ELSE 1 END) FROM unnest(u.weights) w)"


class PostgresTextSearch:
    """`NewsStore`'s keyword search for a PostgreSQL store whose tables carry `TEXT_SEARCH_DDL`'s columns,
    triggers and statistics; a mixin of that store, so it reads through the store's ``query``."""

    if TYPE_CHECKING:  # the store's own, never defined here: it must not shadow the store's

        def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]: ...

    def keyword_stories(self, words: Sequence[str], filters: Filters, limit: int) -> list[int]:
        """See `NewsStore.keyword_stories`."""
        return [r["article_pk"] for r in self.ranked_sentences(words, filters, limit)]

    def ranked_sentences(self, words: Sequence[str], filters: Filters, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` best sentences for any of ``words`` (``pk``, ``article_pk``, ``score``), best
        first, ties by pk: `keyword_stories` with the sentences named, to measure against FTS5."""
        if not words or limit <= 0:
            return []
        where, params = filters.sql()
        return self.query(
            f"WITH {_idf('sentences')}, "
            "hits AS (SELECT s.pk, s.article_pk, s.tsv, l.len FROM wanted, sentences s "
            f"JOIN articles a ON a.pk = s.article_pk {_LENGTH.format(row='s')} "
            f"WHERE s.tsv @@ wanted.query AND {where}) "
            f"{_scores('hits', 'r.pk, r.article_pk', _SENTENCE_TF)} ORDER BY score DESC, r.pk LIMIT ?",
            [list(words), *params, limit],
        )

    def keyword_scores(self, words: Sequence[str], article_pks: Sequence[int]) -> dict[int, float]:
        """See `NewsStore.keyword_scores`."""
        if not words or not article_pks:
            return {}
        rows = self.query(
            f"WITH {_idf('articles')}, "
            f"hits AS (SELECT a.pk, a.tsv, l.len FROM wanted, articles a {_LENGTH.format(row='a')} "
            "WHERE a.pk = ANY(?::bigint[]) AND a.tsv @@ wanted.query) "
            f"{_scores('hits', 'r.pk', _ARTICLE_TF)}",
            [list(words), list(article_pks)],
        )
        return {r["pk"]: float(r["score"]) for r in rows}

    def sentence_term_counts(self, terms: Mapping[str, str]) -> dict[str, int]:
        """See `NewsStore.sentence_term_counts`: each word's own ``english`` lexeme is counted (0 for
        a stop word, which this index does not hold), keyed by the stem it was given under."""
        if not terms:
            return {}
        rows = self.query(
            "SELECT w.stem, coalesce(t.docs, 0) AS docs FROM unnest(?::text[], ?::text[]) AS w(stem, word) "
            "LEFT JOIN text_search_terms t ON t.source = 'sentences' "
            "AND t.lexeme = (tsvector_to_array(to_tsvector('english', w.word)))[1]",
            [list(terms), list(terms.values())],
        )
        return {r["stem"]: int(r["docs"]) for r in rows}
