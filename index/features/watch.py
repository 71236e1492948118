"""Standing queries: each article ingested after a watch was set is checked against it once, and a
match is the best quote the engine gives for the query from those new articles alone.

A watch sees what its scope sees (shared news, plus a Discord server's own for a server's watch), and
keeps a watermark, the largest article pk it has checked, in the engine's store: whichever process
ingested an article (a feed poll, /ingest, `newsbot ingest`), it is checked once. Moving the
watermark is a compare-and-swap, so two checkers never both report one article; and the bot's
processes claim the watches they check (`Watches.due`), each those of the servers it serves, so one of
them asks the engine for it.

"Closely enough" is the engine's own refusal rule, run on the new articles only, with the
``watch_margin`` setting on top: bench/watch_margin.py measures how sure a watch's quote must be against
that rule (a topic such as "storm warnings" is not the kind of question the rule was fit on).

A watch either posts to a Discord channel (set with /watch, posted by the running bot, within the
limits of `due`) or, set from the command line, has none and is reported by `newsbot watch check`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from index.core.dates import now_iso
from index.core.errors import EngineError
from index.search.answer import Answer, AskResult
from index.storage.store import Filters, claimant, scope_clause

if TYPE_CHECKING:
    from index.engine import Engine

HOUR = 3600.0
# How long a watch `due` returns is its claimer's to check: each `due` that returns it again renews it,
# and one whose checker died (or no longer serves its server) is another's after this.
CLAIM_SECONDS = 300.0


@dataclass(frozen=True)
class NewArticles(Filters):
    """The articles of a scope with a pk in (``after``, ``upto``]: those a watch has not checked yet."""

    after: int = 0
    upto: int = 0

    def sql(self, alias: str = "a") -> tuple[str, list[Any]]:
        where, params = super().sql(alias)
        return f"{where} AND {alias}.pk > ? AND {alias}.pk <= ?", [*params, self.after, self.upto]


@dataclass(frozen=True)
class Watch:
    id: int
    query: str
    scope: str | None  # a Discord server's id, or None for shared news (the command line's)
    channel: int | None  # where the bot posts its matches; None: reported by `newsbot watch check`
    created_at: str
    last_pk: int  # the newest article checked (the store's newest when the watch was set)


@dataclass(frozen=True)
class Match:
    watch: Watch
    result: AskResult  # the query answered from the new articles only

    @property
    def answer(self) -> Answer:
        """The quote to post: the best one."""
        return self.result.answers[0]


def _fold(query: str) -> str:
    return query.casefold()


class Watches:
    """The watches in the engine's store (its ``watches`` and ``watch_posts`` tables)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.claimant = claimant()  # this checker's claims, in `due`

    def _newest_pk(self) -> int:
        return int(self.store.query("SELECT coalesce(max(pk), 0) AS pk FROM articles")[0]["pk"])

    def add(
        self, query: str, *, scope: str | None = None, channel: int | None = None, limit: int | None = None
    ) -> Watch:
        """Watch ``query`` from now on (articles already stored never match); at most ``limit`` watches
        per scope."""
        query = " ".join(query.split())
        if not query:
            raise EngineError("say what to watch for, e.g. “ferry strike”")
        longest = self.engine.settings.max_question_chars
        if len(query) > longest:
            raise EngineError(f"a watched query is at most {longest} characters; this one is {len(query)}")
        with self.store.transaction():
            watches = self.list(scope)
            if any(_fold(w.query) == _fold(query) and w.channel == channel for w in watches):
                raise EngineError(f"“{query}” is already watched here")
            if limit is not None and len(watches) >= limit:
                raise EngineError(
                    f"there are {len(watches)} watches here, the most there may be: remove one first"
                )
            created, last = now_iso(), self._newest_pk()
            cursor = self.store.execute(
                "INSERT INTO watches (query, scope, channel, created_at, last_pk) VALUES (?, ?, ?, ?, ?)",
                [query, scope, channel, created, last],
            )
        assert cursor.lastrowid is not None
        return Watch(cursor.lastrowid, query, scope, channel, created, last)

    def list(self, scope: str | None = None) -> list[Watch]:
        """The watches of exactly ``scope`` (None: the command line's), oldest first."""
        exact, params = scope_clause("scope", scope)
        rows = self.store.query(
            "SELECT pk AS id, query, scope, channel, created_at, last_pk FROM watches "
            f"WHERE {exact} ORDER BY pk",
            params,
        )
        return [Watch(**row) for row in rows]

    def remove(self, watch_id: int, scope: str | None = None) -> Watch | None:
        """Stop watch ``watch_id`` of exactly ``scope``; the watch, or None when it has no such watch."""
        with self.store.transaction():
            watch = next((w for w in self.list(scope) if w.id == watch_id), None)
            if watch is not None:
                self.store.execute("DELETE FROM watches WHERE pk = ?", [watch_id])
        return watch

    def check(self, watch: Watch) -> Match | None:
        """Check the articles ingested since ``watch`` was last checked, once: a `Match` when one of
        them answers its query closely enough. Waits (None, nothing taken) while the passage index has
        not caught up with the store: articles just written by another process are not searchable yet."""
        upto = self._newest_pk()
        if upto <= watch.last_pk:
            return None
        self.engine.refresh()
        if self.engine.questions.generation != self.store.generation():  # a replica's may lag
            return None
        new = NewArticles(scope=watch.scope, after=watch.last_pk, upto=upto)
        where, params = new.sql()
        seen = self.store.query(f"SELECT count(*) AS n FROM articles a WHERE {where}", params)[0]["n"]
        result = self.engine.ask(watch.query, None, new) if seen else None
        with self.store.transaction():
            taken = self.store.execute(
                "UPDATE watches SET last_pk = ? WHERE pk = ? AND last_pk = ?", [upto, watch.id, watch.last_pk]
            ).rowcount
        if not taken or result is None or not self.matches(result):
            return None  # another checker took these articles, or none of them is close enough
        return Match(replace(watch, last_pk=upto), result)

    def matches(self, result: AskResult) -> bool:
        """Close enough to post: a quote, and a confidence of the refusal threshold plus the watch margin."""
        threshold = self.engine.min_answer_score + self.engine.settings.watch_margin
        return bool(result.answers) and result.confidence >= threshold

    def due(
        self,
        every_minutes: float,
        hourly: int,
        now: float | None = None,
        serves: Callable[[str], bool] | None = None,
    ) -> list[Watch]:
        """The channel watches to check now, with articles they have not checked, of the servers
        ``serves`` takes (every one when None; a process sees the channels of its own servers alone):
        none that posted in the last ``every_minutes``, and per channel no more than its ``hourly``
        posts have left (those that posted longest ago first). Each is claimed for `CLAIM_SECONDS`, so
        that of the processes sharing the store one checks it; one another process holds is left out.
        A watch left out keeps its new articles for a later check."""
        now = time.time() if now is None else now
        rows = self.store.query(
            "SELECT pk AS id, query, scope, channel, created_at, last_pk, posted_at FROM watches "
            "WHERE channel IS NOT NULL AND last_pk < ? ORDER BY coalesce(posted_at, 0), pk",
            [self._newest_pk()],
        )
        posts = Counter(
            {
                row["channel"]: row["n"]
                for row in self.store.query(
                    "SELECT channel, count(*) AS n FROM watch_posts WHERE posted_at >= ? GROUP BY channel",
                    [now - HOUR],
                )
            }
        )
        due = []
        for row in rows:
            if serves is not None and not serves(row["scope"]):
                continue  # another process's server: it alone sees the channel
            posted_at = row.pop("posted_at")
            if posted_at is not None and posted_at > now - every_minutes * 60:
                continue
            if posts[row["channel"]] >= hourly:
                continue
            posts[row["channel"]] += 1  # as if it will post: this check must not pass the cap
            due.append(Watch(**row))
        ids = [watch.id for watch in due]
        taken = set(self.store.claim("watches", ids, self.claimant, now, now + CLAIM_SECONDS))
        return [watch for watch in due if watch.id in taken]

    def posted(self, watch: Watch, now: float | None = None) -> None:
        """``watch`` posted a match to its channel (counted by `due`, for an hour: older posts go)."""
        now = time.time() if now is None else now
        with self.store.transaction():
            self.store.execute("UPDATE watches SET posted_at = ? WHERE pk = ?", [now, watch.id])
            self.store.execute(
                "INSERT INTO watch_posts (channel, posted_at) VALUES (?, ?)", [watch.channel, now]
            )
            self.store.execute("DELETE FROM watch_posts WHERE posted_at < ?", [now - HOUR])
