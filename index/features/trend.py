"""How much coverage a query has had over time, by outlet: the counting behind /trend and `newsbot trend`.

The matching articles are the engine's search results (the stories `/search` lists, in the same
scope and date range) that score at least the `trend_min_score` setting, with the wire copies other
outlets carried of them: a copy is an article of its own outlet, on its own date.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date
from typing import TYPE_CHECKING, Literal

from index.core.dates import stated_day

if TYPE_CHECKING:
    from index.engine import Engine, SearchHit
    from index.storage.store import Filters

# Bars at most, in the finest bucket that keeps to it: more would not fit a preview ~400 px wide. Only
# a span of over BARS centuries (years 1 to 9999 allow 100) gets more, one per century.
BARS = 45
SERIES = 5  # outlets shown: with more, the biggest SERIES - 1 and "other"
OTHER = "other"
UPLOADED = "uploaded"  # an article uploaded to a server has no outlet of its own
UNKNOWN = "unknown outlet"


@dataclass(frozen=True)
class Dated:
    """One matching article: its outlet's name as charted, and its day (None when undated)."""

    outlet: str
    day: date | None


Bucket = Literal["day", "week", "month", "quarter", "year", "decade", "century"]


@dataclass(frozen=True)
class Unit:
    """A bucket size, counted in days (weeks start on Monday) or in months (from January)."""

    name: Bucket
    days: int = 0
    months: int = 0

    def index(self, day: date) -> int:
        """The number of the bucket holding ``day``: buckets are numbered, never stepped through, so
        no date past the calendar's ends is ever made."""
        if self.days:
            return (day.toordinal() - 1) // self.days  # day 1, 0001-01-01, is a Monday
        return (day.year * 12 + day.month - 1) // self.months

    def first_ordinal(self, index: int) -> int:
        """The ordinal of bucket ``index``'s first day, held to the calendar (one past its last day)."""
        if self.days:
            return index * self.days + 1
        year, month = divmod(index * self.months, 12)
        if year < MINYEAR:
            return 1
        return date(year, month + 1, 1).toordinal() if year <= MAXYEAR else date.max.toordinal() + 1


UNITS = {
    unit.name: unit
    for unit in (
        Unit("day", days=1),
        Unit("week", days=7),
        Unit("month", months=1),
        Unit("quarter", months=3),
        Unit("year", months=12),
        Unit("decade", months=120),
        Unit("century", months=1200),
    )
}


def unit_for(first: date, last: date) -> Unit:
    """The finest bucket that counts ``first`` to ``last`` in at most BARS (else centuries)."""
    fits = (unit for unit in UNITS.values() if unit.index(last) - unit.index(first) < BARS)
    return next(fits, UNITS["century"])


@dataclass(frozen=True)
class Trend:
    """Matching articles per bucket (a day, a week, a month... by its first day), by outlet."""

    query: str
    bucket: Bucket
    starts: list[date]
    first: date | None  # the days counted, from first to last
    last: date | None
    counts: dict[str, list[int]]  # outlet -> articles per bucket; most articles first, "other" last
    undated: int  # matching articles with no date, not charted

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts.values()))

    @property
    def days(self) -> list[int]:
        """Each bucket's length in days, for the bars' widths: months and years vary."""
        unit = UNITS[self.bucket]
        return [unit.first_ordinal(unit.index(start) + 1) - start.toordinal() for start in self.starts]


def count(query: str, articles: Iterable[Dated], since: str | None = None, until: str | None = None) -> Trend:
    """``articles`` in buckets from ``since`` (else the first article's day) to ``until`` (else the
    last's); articles outside those days are left out. Dates asked so much wider than the articles'
    that the buckets would be coarser are narrowed to the articles' first and last days."""
    low, high = stated_day(since) or date.min, stated_day(until) or date.max
    articles = list(articles)
    dated = [(a.outlet, a.day) for a in articles if a.day and low <= a.day <= high]
    undated = sum(a.day is None for a in articles)
    if not dated:
        return Trend(query, "day", [], None, None, {}, undated)
    earliest, latest = min(day for _, day in dated), max(day for _, day in dated)
    first, last = (low if since else earliest), (high if until else latest)
    if unit_for(first, last) != unit_for(earliest, latest):
        first, last = earliest, latest
    unit = unit_for(first, last)
    offset = unit.index(first)
    starts = [date.fromordinal(unit.first_ordinal(index)) for index in range(offset, unit.index(last) + 1)]
    totals = Counter(outlet for outlet, _ in dated)
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    shown = ranked if len(ranked) <= SERIES else ranked[: SERIES - 1]
    counts = {name: [0] * len(starts) for name in shown}
    if len(shown) < len(ranked):
        counts[OTHER] = [0] * len(starts)
    for outlet, day in dated:
        counts[outlet if outlet in shown else OTHER][unit.index(day) - offset] += 1
    return Trend(query, unit.name, starts, first, last, counts, undated)


def outlet_name(source: str | None, uploaded: bool) -> str:
    return source or (UPLOADED if uploaded else UNKNOWN)


def matching(engine: Engine, hits: Sequence[SearchHit]) -> list[Dated]:
    """The hits' articles and the wire copies of them."""
    found = [
        Dated(outlet_name(h.article.source, h.article.uploaded), stated_day(h.article.published))
        for h in hits
    ]
    if not hits:
        return found
    wanted = {(h.article.id, h.article.scope or "") for h in hits}
    ids = sorted({h.article.id for h in hits})
    rows = engine.store.query(
        "SELECT a.id, coalesce(a.scope, '') AS scope, c.source, c.published, c.meta "
        "FROM articles c JOIN articles a ON a.pk = c.copy_of "
        f"WHERE a.id IN ({','.join('?' * len(ids))}) ORDER BY c.pk",
        ids,
    )
    found += [
        Dated(
            outlet_name(r["source"], bool(json.loads(r["meta"] or "{}").get("uploaded"))),
            stated_day(r["published"]),
        )
        for r in rows
        if (r["id"], r["scope"]) in wanted
    ]
    return found


def trend_of(engine: Engine, query: str, filters: Filters) -> Trend:
    """The coverage of ``query`` in ``filters``' scope and dates (see the module's docstring)."""
    s = engine.settings
    hits = [
        hit for hit in engine.search(query, s.trend_candidates, filters) if hit.score >= s.trend_min_score
    ]
    return count(query, matching(engine, hits), filters.since, filters.until)
