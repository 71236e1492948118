"""Keyword search on PostgreSQL: postings tables read by lexeme, ranked by a BM25 computed in SQL.

SQLite ranks with FTS5's BM25 (k1 = 1.2, b = 0.75, IDF ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6;
an article's title counts twice its text). `ts_rank_cd` knows no IDF, so a sentence holding only the
question's commonest word would rank with one holding its rarest; the same BM25 is computed here instead,
as FTS5 does it, from compact postings: a row per lexeme of a sentence (``sentence_postings``, with its
frequency, the sentence's length and what the filters read) or of an article (``article_postings``),
each table its index by lexeme, so a question reads only its own words' postings. Statement-level
triggers keep them, and the term statistics (`text_search_terms`, PostgreSQL's counterpart of FTS5's
vocabulary table: per source table the rows holding each lexeme, and under the empty lexeme the rows
and their tokens, for the average length), in step with the rows. A row's length is its last word
position, which counts stop words as FTS5 does. Words are stemmed by the ``english`` configuration
(Snowball's Porter 2), so a few words stem otherwise than FTS5's porter (``says`` is ``say`` here,
``sai`` there).

Statements use ``?`` placeholders, as every statement the engine sends its store (see
`index.storage.interface`), and `PostgresTextSearch` runs them through the store's own ``query``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from index.storage.store import Filters

K1 = 1.2  # FTS5's bm25() constants: the same ranking on both backends
B = 0.75
MIN_IDF = 1e-6  # FTS5 floors the IDF of a term in more than half the rows here

# Migration 2 of schema.MIGRATIONS, run in order; each statement is also a no-op when already applied,
# and the rows a database held before it are counted once. Migration 4 (`POSTINGS_DDL`) replaces all
# but the counts; a database gets both, in order.
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


# A load into an empty database defers its postings (`PostgresStore.loading`): its transactions set
# `DEFERRED`, their rows are noted in `PENDING` by the insert triggers, and the postings of all of them
# are written at its end (`Indexed.write_pending`, `write_first_pending`): in one pass instead of a
# chunk at a time, a 40k-passage load took 43 s instead of 51–54 (docs/benchmarks.md).
PENDING = "postings_pending"
DEFERRED = "newsbot.defer_postings"
PENDING_DDL = (
    f'CREATE TABLE IF NOT EXISTS {PENDING} (source text COLLATE "C" NOT NULL, pk bigint NOT NULL, '
    "PRIMARY KEY (source, pk))",
)

# The counts of `Indexed.write`: per lexeme the rows holding it, and under the empty lexeme the rows
# and their lengths, in lexeme order, so two writers would lock them in one order.
_COUNT = (
    "INSERT INTO text_search_terms AS t (source, lexeme, docs, tokens) "
    "SELECT '{source}', lexeme, {sign} * sum(docs), {sign} * sum(tokens) FROM ("
    "SELECT lexeme, 1 AS docs, 0 AS tokens FROM changed "
    "UNION ALL SELECT '', count(*), coalesce(sum(len), 0) FROM r HAVING count(*) > 0) c "
    "GROUP BY lexeme ORDER BY lexeme ON CONFLICT (source, lexeme) "
    "DO UPDATE SET docs = t.docs + excluded.docs, tokens = t.tokens + excluded.tokens"
)
_TRANSITIONS = {
    "insert": "NEW TABLE AS added",
    "delete": "OLD TABLE AS gone",
    "update": "OLD TABLE AS gone NEW TABLE AS added",
}


@dataclass(frozen=True)
class Indexed:
    """A table keyword search indexes, and how its rows become postings: one per lexeme of a row."""

    source: str  # the table, and its name in ``text_search_terms``
    postings: str  # its postings table
    key: str  # the postings' column naming the row
    vector: str  # the row's tsvector, over ``x``, the row
    frequency: str  # a lexeme's frequency in it, over ``u``, its tsvector entry
    changed: str  # when an update (``g`` the old row, ``n`` the new) changes the words
    kept: str = "x.pk"  # the row's columns the postings need
    carried: dict[str, str] = field(default_factory=dict)  # more postings columns: value over r and a
    joined: str = ""  # what the carried values need joined to ``r`` (the row)
    also_on_update: str = ""  # a statement more that an update runs

    def write(self, rows: str, sign: int, before: str = "", ordered: bool = True) -> str:
        """One statement adding (``sign`` 1) or removing (-1) the postings of ``rows`` (a relation with
        the table's columns), and counting them (`_COUNT`); ``before``, CTEs ``rows`` may read. A row's
        length is its last position, which counts stop words as FTS5 does. Added postings go in in
        their index's order, unless not ``ordered``: into a table without its index, where the index
        built afterwards sorts them anyway."""
        names = "".join(f", {c}" for c in self.carried)
        values = "".join(f", {v}" for v in self.carried.values())
        order = " ORDER BY u.lexeme, r.pk" if ordered else ""
        posted = (
            f"INSERT INTO {self.postings} (lexeme, {self.key}{names}, tf, len) "
            f"SELECT u.lexeme, r.pk{values}, {self.frequency}, r.len FROM r {self.joined} "
            f"CROSS JOIN LATERAL unnest(r.tsv) u{order} RETURNING lexeme"
            if sign > 0
            else f"DELETE FROM {self.postings} p USING r CROSS JOIN LATERAL unnest(r.tsv) u "
            f'WHERE p.lexeme = u.lexeme COLLATE "C" AND p.{self.key} = r.pk RETURNING p.lexeme'
        )
        return (
            f"WITH {before + ', ' if before else ''}r AS MATERIALIZED (SELECT {self.kept}, v.tsv, "
            "(SELECT coalesce(max(e.p[cardinality(e.p)]), 0) FROM unnest(v.tsv) e(l, p, w)) AS len "
            # OFFSET 0 keeps the planner from inlining ``v``, which would compute each tsvector twice
            f"FROM {rows} x CROSS JOIN LATERAL (SELECT {self.vector} AS tsv OFFSET 0) v), "
            f"changed AS ({posted}) {_COUNT.format(source=self.source, sign=sign)}"
        )

    def functions(self) -> tuple[str, ...]:
        """The trigger functions keeping the postings and counts in step with the table, over a
        statement's transition tables. An update counts only the rows whose words changed: new vectors
        (reindex) leave the postings as they were. In a deferring writer's transaction (`DEFERRED`) an
        insert only notes its rows in `PENDING`; a pending row has no postings to remove or change, and
        a deleted one is pending no more (`write_pending` writes the rest)."""
        pending = f"(SELECT 1 FROM {PENDING} q WHERE q.source = '{self.source}' AND q.pk = {{row}}.pk)"
        changed = (
            f"(SELECT {{side}}.* FROM gone g JOIN added n USING (pk) WHERE ({self.changed}) "
            f"AND NOT EXISTS {pending.format(row='n')})"
        )
        update = [self.write(changed.format(side="g"), -1), self.write(changed.format(side="n"), 1)]
        deferred = (
            f"IF current_setting('{DEFERRED}', true) = 'on' THEN INSERT INTO {PENDING} (source, pk) "
            f"SELECT '{self.source}', pk FROM added; RETURN NULL; END IF"
        )
        bodies = {
            "insert": [deferred, self.write("added", 1)],
            "delete": [
                self.write(f"(SELECT g.* FROM gone g WHERE NOT EXISTS {pending.format(row='g')})", -1),
                f"DELETE FROM {PENDING} q USING gone g WHERE q.source = '{self.source}' AND q.pk = g.pk",
            ],
            "update": [*update, *filter(None, [self.also_on_update])],
        }
        return tuple(
            f"CREATE OR REPLACE FUNCTION {self.postings}_{op}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{'; '.join(body)}; RETURN NULL; END $$"
            for op, body in bodies.items()
        )

    @property
    def primary_key(self) -> str:
        """The postings' primary key: the index a question reads, by lexeme, holding all it needs."""
        return f"PRIMARY KEY (lexeme, {self.key}) INCLUDE ({', '.join([*self.carried, 'tf', 'len'])})"

    def write_pending(self, batch: int | None, ordered: bool = True) -> str:
        """One statement writing the postings of up to ``batch`` (None: all) of this table's `PENDING`
        rows, and taking them off it: what the triggers deferred, written in a pass of its own."""
        mine = f"source = '{self.source}'"
        first = "" if batch is None else f" ORDER BY pk LIMIT {int(batch)}"
        taken = (
            f"taken AS (DELETE FROM {PENDING} q WHERE q.{mine} AND q.pk IN "
            f"(SELECT pk FROM {PENDING} WHERE {mine}{first}) RETURNING q.pk)"
        )
        return self.write(f"(SELECT t.* FROM {self.source} t JOIN taken USING (pk))", 1, taken, ordered)

    def write_first_pending(self) -> tuple[str, ...]:
        """`write_pending` of every pending row into postings that hold none yet (a first load), their
        primary key built once after the rows are in rather than grown a row at a time (so the rows go
        in unsorted: the key's build sorts them)."""
        return (
            f"ALTER TABLE {self.postings} DROP CONSTRAINT {self.postings}_pkey",
            self.write_pending(None, ordered=False),
            f"ALTER TABLE {self.postings} ADD {self.primary_key}",
        )

    def triggers(self) -> tuple[str, ...]:
        """`functions`, and the statement-level triggers running them once per statement (a COPY of a
        whole batch too)."""
        return (
            *self.functions(),
            *(
                f"CREATE TRIGGER {self.postings}_{op} AFTER {op.upper()} ON {self.source} "
                f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {self.postings}_{op}()"
                for op, transition in _TRANSITIONS.items()
            ),
        )


SENTENCES = Indexed(
    "sentences",
    "sentence_postings",
    "sentence_pk",
    "to_tsvector('english', coalesce(x.text, ''))",
    "cardinality(u.positions)",
    "n.text IS DISTINCT FROM g.text OR n.article_pk IS DISTINCT FROM g.article_pk",
    "x.pk, x.article_pk",
    {"article_pk": "r.article_pk", "scope": "a.scope", "published": "a.published"},
    "LEFT JOIN articles a ON a.pk = r.article_pk",
)
# The title's words weigh A, the text's B; FTS5 weighs a title word by the title column's 2.0. An
# article whose scope or date changed moves its sentences' postings, which carry them for the filters.
ARTICLES = Indexed(
    "articles",
    "article_postings",
    "article_pk",
    "setweight(to_tsvector('english', coalesce(x.title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(x.text, '')), 'B')",
    "cardinality(u.weights) + cardinality(array_positions(u.weights, 'A'))",  # an A position twice
    "n.title IS DISTINCT FROM g.title OR n.text IS DISTINCT FROM g.text",
    also_on_update="UPDATE sentence_postings p SET scope = n.scope, published = n.published "
    "FROM gone g JOIN added n USING (pk) JOIN sentences s ON s.article_pk = n.pk "
    "CROSS JOIN LATERAL unnest(to_tsvector('english', coalesce(s.text, ''))) u "
    "WHERE (n.scope IS DISTINCT FROM g.scope OR n.published IS DISTINCT FROM g.published) "
    'AND p.lexeme = u.lexeme COLLATE "C" AND p.sentence_pk = s.pk',
)

# Migration 4 of schema.MIGRATIONS: postings in place of migration 2's tsvector columns, GIN indexes and
# per-row counting (a question read and unpacked every sentence holding one of its words, ~4,500 wide
# rows at 100k articles; an ingest computed and indexed each tsvector). Each postings table is its
# primary key's index, lexeme first, holding what a question reads, so a question's words are read as
# index-only ranges. The counts are made again from the postings, in the back-fill of the rows stored.
POSTINGS_DDL: tuple[str, ...] = (
    *(
        f"DROP TRIGGER {table}_terms_{op} ON {table}"
        for table in ("sentences", "articles")
        for op in ("ai", "ad", "au")
    ),
    "DROP FUNCTION text_search_tally()",
    "DROP FUNCTION text_search_count(text, tsvector[], integer)",
    "DROP FUNCTION text_search_length(tsvector)",
    "ALTER TABLE sentences DROP COLUMN tsv",
    "ALTER TABLE articles DROP COLUMN tsv",
    'CREATE TABLE sentence_postings (lexeme text COLLATE "C" NOT NULL, sentence_pk bigint NOT NULL, '
    'article_pk bigint NOT NULL, scope text COLLATE "C", published text COLLATE "C", tf integer NOT NULL, '
    f"len integer NOT NULL, {SENTENCES.primary_key})",
    'CREATE TABLE article_postings (lexeme text COLLATE "C" NOT NULL, article_pk bigint NOT NULL, '
    f"tf integer NOT NULL, len integer NOT NULL, {ARTICLES.primary_key})",
    "TRUNCATE text_search_terms",
    ARTICLES.write("articles", 1),
    SENTENCES.write("sentences", 1),
    *ARTICLES.triggers(),
    *SENTENCES.triggers(),
)


def _idf(source: str) -> str:
    """SQL of the CTEs ``q``, the distinct lexemes of the words (the ``?``, a text[]), ``total``, the
    rows of ``source`` and their average length, and ``idf``, each lexeme's BM25 IDF over those rows."""
    return (
        "q AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector('english', w))) AS lexeme "
        "FROM unnest(?::text[]) AS w), "
        "total AS (SELECT greatest(docs, 1) AS n, greatest(tokens, 1)::float8 / greatest(docs, 1) AS avgdl "
        f"FROM text_search_terms WHERE source = '{source}' AND lexeme = ''), "
        "idf AS MATERIALIZED (SELECT q.lexeme, greatest(ln((total.n - coalesce(t.docs, 0) + 0.5) / "
        f"(coalesce(t.docs, 0) + 0.5)), {MIN_IDF})::float8 AS idf FROM q CROSS JOIN total "
        f"LEFT JOIN text_search_terms t ON t.source = '{source}' AND t.lexeme = q.lexeme)"
    )


def _scored(indexed: Indexed, keys: str, where: str = "") -> str:
    """SQL of ``keys`` and ``score``, the BM25 of each row of ``indexed`` holding a lexeme of ``idf``
    (`_idf`), read from its postings ``p`` alone: an index range per lexeme."""
    return (
        f"SELECT {keys}, "
        f"sum(i.idf * p.tf * {K1 + 1} / (p.tf + {K1} * ({1 - B} + {B} * p.len / total.avgdl))) AS score "
        f'FROM idf i CROSS JOIN total JOIN {indexed.postings} p ON p.lexeme = i.lexeme COLLATE "C" '
        f"{where} GROUP BY {keys}"
    )


class PostgresTextSearch:
    """`NewsStore`'s keyword search for a PostgreSQL store whose tables carry `TEXT_SEARCH_DDL`'s and
    `POSTINGS_DDL`'s postings, triggers and statistics; a mixin of that store, so it reads through the
    store's ``query``."""

    if TYPE_CHECKING:  # the store's own, never defined here: it must not shadow the store's

        def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]: ...

    def keyword_stories(self, words: Sequence[str], filters: Filters, limit: int) -> list[int]:
        """See `NewsStore.keyword_stories`."""
        return [r["article_pk"] for r in self.ranked_sentences(words, filters, limit)]

    def ranked_sentences(self, words: Sequence[str], filters: Filters, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` best sentences for any of ``words`` (``pk``, ``article_pk``, ``score``), best
        first, ties by pk: `keyword_stories` with the sentences named, to measure against FTS5. The
        postings carry their article's scope and date, which a question filters on; an outlet, or a
        `Filters` of another kind (a watch's new articles, by pk), needs the article itself."""
        if not words or limit <= 0:
            return []
        own = type(filters) is Filters and not filters.outlet
        where, params = filters.sql("p" if own else "a")
        article = "" if own else "JOIN articles a ON a.pk = p.article_pk "
        return self.query(
            f"WITH {_idf('sentences')} SELECT sentence_pk AS pk, article_pk, score FROM "
            f"({_scored(SENTENCES, 'p.sentence_pk, p.article_pk', f'{article}WHERE {where}')}) s "
            "ORDER BY score DESC, pk LIMIT ?",
            [list(words), *params, limit],
        )

    def keyword_scores(self, words: Sequence[str], article_pks: Sequence[int]) -> dict[int, float]:
        """See `NewsStore.keyword_scores`."""
        if not words or not article_pks:
            return {}
        rows = self.query(
            f"WITH {_idf('articles')} "
            f"{_scored(ARTICLES, 'p.article_pk', 'AND p.article_pk = ANY(?::bigint[])')}",
            [list(words), list(article_pks)],
        )
        return {r["article_pk"]: float(r["score"]) for r in rows}

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
