"""Time in questions and in articles: whether a question asks for the current state of a story or
names a period, when an article was published, and the preference that follows for its quotes.

News is about time: "what's the latest on the ferry strike?" wants the newest coverage of the story,
"what did the council vote for in 2023?" that year's. A question without such a cue gets no
`TimeCue`, and its quotes stay as ranked but for one thing: when its top quotes from one story state
different figures for what it asks ("how many died?": 12, then 15), the newest report's goes first.
With a cue, the preference only re-orders quotes of the best quote's own story, and only where the
story's articles carry dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from index.core.dates import MONTHS, day_of, is_later, month_end, published_at
from index.news.figures import stated_figures
from index.news.stories import Stories
from index.search.answer import Ranked, neighbour
from index.search.candidates import Candidates
from index.search.cues import TOKEN
from index.search.query import Query
from index.storage.store import Filters, Store, published_day

_MONTH = "|".join(MONTHS)
_YEAR = r"(?:19[5-9]\d|20\d\d)"
# A month is a month after "in", "during", "since", "of", "early", "late", "mid", or before a year:
# "who may win?" names none.
MONTH = re.compile(
    rf"\b(?:in|during|since|of|early|late|mid)[\s-]+({_MONTH})\b(?:\s+({_YEAR})\b)?|\b({_MONTH})\s+({_YEAR})\b",
    re.I,
)
YEAR = re.compile(rf"\b({_YEAR})\b")
RELATIVE = re.compile(r"\b(last|this) (year|month|week)\b", re.I)


@dataclass(frozen=True)
class Period:
    """The days a question names, and the words a sentence may name them by ("2005", "march")."""

    first: date
    last: date
    names: frozenset[str] = frozenset()

    def holds(self, published: str | None) -> bool:
        day = day_of(published)
        return day is not None and self.first <= day <= self.last

    def named_in(self, text: str) -> bool:
        return bool(self.names & set(TOKEN.findall(text.lower())))


@dataclass(frozen=True)
class TimeCue:
    """A period the question names (it wins), or whether it asks for the current state of things."""

    current: bool = False
    period: Period | None = None


def time_cue(query: Query, newest: Callable[[], date | None]) -> TimeCue | None:
    """The question's time cue, or None. ``newest`` gives the newest article's day, what "last year"
    and a month without a year count from; it is only called for those (None: they are not read)."""
    period = _named_period(query.text, newest)
    return TimeCue(query.current, period) if period or query.current else None


def _named_period(question: str, newest: Callable[[], date | None]) -> Period | None:
    if found := MONTH.search(question):
        name = (found.group(1) or found.group(3)).lower()
        month, year = MONTHS.index(name) + 1, found.group(2) or found.group(4)
        if year is None:
            now = newest()
            if now is None:
                return None
            year = now.year if month <= now.month else now.year - 1
        first = date(int(year), month, 1)
        return Period(first, month_end(first), frozenset({name}))
    if found := YEAR.search(question):
        year = int(found.group(1))
        return Period(date(year, 1, 1), date(year, 12, 31), frozenset({str(year)}))
    if found := RELATIVE.search(question):
        now = newest()
        return None if now is None else _relative(found.group(1).lower(), found.group(2).lower(), now)
    return None


def _relative(which: str, unit: str, now: date) -> Period | None:
    """The period "last year", "this month" or "last week" names, counted from ``now`` ("this week"
    asks for the current state instead: None here)."""
    back = which == "last"
    if unit == "year":
        year = now.year - back
        return Period(date(year, 1, 1), date(year, 12, 31))
    if unit == "month":
        first = now.replace(day=1)
        if back:
            first = (first - timedelta(days=1)).replace(day=1)
        return Period(first, month_end(first))
    if not back:
        return None
    monday = now - timedelta(days=now.weekday() + 7)
    return Period(monday, monday + timedelta(days=6))


def newest_day(store: Store, filters: Filters | None) -> date | None:
    """The newest article's day in the question's scope: the "now" of a corpus that may be old. One
    query per scope (shared news, the server's own), each the end of an index range; one query over
    both would scan them."""
    scopes = Filters(scope=filters.scope if filters else None).scopes()
    newest = f"SELECT max({published_day()}) AS newest FROM articles a WHERE "
    days = [row["newest"] for where, params in scopes for row in store.query(newest + where, params)]
    days = [day for day in days if day]
    return day_of(max(days)) if days else None


def newer(pk: int, candidates: Candidates, stories: Stories) -> list[int]:
    """The candidate articles of ``pk``'s story published after it, newest first."""
    mine = _published(candidates, pk)
    later: dict[int, datetime] = {}
    for other in candidates.articles:
        moment = published_at(_published(candidates, other))
        if moment and is_later(_published(candidates, other), mine) and stories.same(pk, other):
            later[other] = moment
    return sorted(later, key=later.__getitem__, reverse=True)


def prefer(
    cue: TimeCue, ranked: Sequence[Ranked], candidates: Candidates, stories: Stories, k: int
) -> list[Ranked]:
    """The first ``k`` of ``ranked`` (the best ``k`` quotes of each article, best first) as the cue
    prefers them.

    A named period: the best quote's story's quotes from that period first, unless the best quote is
    of it or names it. The current state: the best quote of each dated article of that story, newest
    first. Then the rest as ranked; unchanged when no article of the story fits (an undated corpus)."""
    if not ranked:
        return []
    if cue.period is not None:
        chosen = _of_period(cue.period, ranked, candidates, stories)
    else:
        chosen = _newest_first(ranked, candidates, stories)
    rest = [r for r in ranked if r not in chosen]
    return [*chosen, *rest][:k]


def outside_period(cue: TimeCue | None, quote: Ranked, candidates: Candidates) -> bool:
    """Whether the question names a period (a year, a month) that the quote's report is dated outside
    of and that neither the quote nor the sentences beside it name: "who won the contest in 2019?" is
    not answered by a report of 2024's, however well it matches the rest; such an answer is refused.
    An undated report is left to the refusal rule: when it was written is unknown."""
    if cue is None or cue.period is None:
        return False
    published = _when(candidates, quote)
    if published is None or cue.period.holds(published):
        return False
    near = (neighbour(candidates.sentences, quote.position, step) for step in (-1, 0, 1))
    return not any(cue.period.named_in(s["text"]) for s in near if s is not None)


def newest_figure_first(
    query: Query, ranked: Sequence[Ranked], candidates: Candidates, stories: Stories
) -> list[Ranked]:
    """``ranked`` with the newest report's quote first when the top quotes from one story state
    different figures for what the question asks (`figures.stated_figures`): a toll that rose is
    quoted as it stands now, the older figure still shown beside it. As ranked when none of those
    reports is newer than all the others."""
    texts = [candidates.sentences[r.position]["text"] for r in ranked]
    stating = [
        p for p, _ in stated_figures(query, texts, [_article(candidates, r) for r in ranked], stories.same)
    ]
    days = {p: _when(candidates, ranked[p]) for p in stating}
    newest = next((p for p in stating if all(p == q or is_later(days[p], days[q]) for q in stating)), 0)
    return [ranked[newest], *ranked[:newest], *ranked[newest + 1 :]] if newest else list(ranked)


def _of_period(
    period: Period, ranked: Sequence[Ranked], candidates: Candidates, stories: Stories
) -> list[Ranked]:
    best = ranked[0]
    if period.holds(_when(candidates, best)) or period.named_in(candidates.sentences[best.position]["text"]):
        return []
    story = set(stories.of(_article(candidates, best)))
    return [r for r in ranked if _article(candidates, r) in story and period.holds(_when(candidates, r))]


def _newest_first(ranked: Sequence[Ranked], candidates: Candidates, stories: Stories) -> list[Ranked]:
    """The best quote of each dated article of the best quote's story, newest first; none when the
    best quote's own article is undated (what is newer than it cannot be told)."""
    top = _article(candidates, ranked[0])
    if published_at(_when(candidates, ranked[0])) is None:
        return []
    firsts: dict[int, tuple[Ranked, datetime]] = {}
    for r in ranked:
        pk, moment = _article(candidates, r), published_at(_when(candidates, r))
        if pk not in firsts and moment is not None and stories.same(top, pk):
            firsts[pk] = r, moment
    return [r for r, _ in sorted(firsts.values(), key=lambda pair: pair[1], reverse=True)]


def _article(candidates: Candidates, ranked: Ranked) -> int:
    return candidates.article_of(ranked.position)


def _when(candidates: Candidates, ranked: Ranked) -> str | None:
    """When the ranked sentence's article was published."""
    return _published(candidates, _article(candidates, ranked))


def _published(candidates: Candidates, pk: int) -> str | None:
    return candidates.articles[pk]["published"]
