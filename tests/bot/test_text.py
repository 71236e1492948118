"""Escaping and trimming article text for Discord: plain functions, no Discord needed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import TEXT

from bot.text import (
    ELLIPSIS,
    blockquote,
    citation,
    escape,
    highlight,
    join_lines,
    link,
    one_line,
    outlets_line,
    trim,
    trim_start,
)
from index.core.models import ArticleRef, Outlet

QUOTE = (
    "The launch was detected. They told the coast guard to warn ships. Debris fell at sea. Nobody was hurt."
)
BEST = "They told the coast guard to warn ships."


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("@everyone and @here", "@\u200beveryone and @\u200bhere"),
        ("ask <@123> or <@!123>, <@&9>, <#5>", "ask <\u200b@123> or <\u200b@!123>, <\u200b@&9>, <\u200b#5>"),
        ("<t:1700000000:R> and <:wave:1>", "<\u200bt:1700000000:R> and <\u200b:wave:1>"),
        (
            "**bold** _it_ `code` ~~gone~~ ||spoiler||",
            "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\~\\~gone\\~\\~ \\|\\|spoiler\\|\\|",
        ),
        ("# Heading\n> quote", "\\# Heading\n\\> quote"),
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("plain text", "plain text"),
    ],
)
def test_escape_leaves_nothing_to_render_or_ping(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_trim_cuts_after_the_last_whole_sentence() -> None:
    assert trim(QUOTE, 1000) == QUOTE
    assert trim(QUOTE, 70) == "The launch was detected. They told the coast guard to warn ships. " + ELLIPSIS
    assert trim('He said "go." Then he left.', 18) == 'He said "go." ' + ELLIPSIS
    assert len(trim(QUOTE, 70)) <= 70


def test_trim_falls_back_to_words_and_never_leaves_a_dangling_escape() -> None:
    assert trim("one two three four five", 12) == "one two" + ELLIPSIS
    assert trim("abcdefghijklmnop", 8) == "abcdefg" + ELLIPSIS
    cut = trim("abcdef\\*\\*ghi", 8)
    assert not cut.removesuffix(ELLIPSIS).endswith("\\") and len(cut) <= 8
    assert trim("anything", 1) == ELLIPSIS


def test_trim_start_drops_whole_sentences_from_the_front() -> None:
    assert trim_start(QUOTE, 40) == ELLIPSIS + " Debris fell at sea. Nobody was hurt."
    assert trim_start("one two three four five six", 12) == ELLIPSIS + " five six"
    assert trim_start(QUOTE, 1000) == QUOTE


@pytest.mark.parametrize("limit", [1000, 120, 90, 60, 44, 30, 12])
def test_highlight_keeps_the_best_sentence_bold_within_the_limit(limit: int) -> None:
    shown = highlight(QUOTE, BEST, limit)
    assert len(shown) <= limit
    assert shown.count("**") == 2
    if limit >= len(BEST) + 4:
        assert f"**{BEST}**" in shown


def test_highlight_prefers_the_sentence_before_the_best_one() -> None:
    assert highlight(QUOTE, BEST, 70) == f"The launch was detected. **{BEST}**"
    assert (
        highlight(QUOTE, BEST, 1000)
        == f"The launch was detected. **{BEST}** Debris fell at sea. Nobody was hurt."
    )


def test_highlight_escapes_and_joins_lines() -> None:
    text = "Officials told @everyone:\n\nleave *now*. They said **run**."
    assert highlight(text, "They said **run**.", 500) == (
        "Officials told @\u200beveryone: leave \\*now\\*. **They said \\*\\*run\\*\\*.**"
    )
    assert highlight("no such sentence here", "missing", 100) == "no such sentence here"


def test_links_titles_and_citations() -> None:
    assert (
        link("A [b] title", "https://x.example/a_(b) c")
        == "[A \\[b\\] title](https://x.example/a_%28b%29%20c)"
    )
    assert link("Title", "javascript:alert(1)") == "Title"
    assert link("Title", "https://x.example/" + "a" * 600) == "Title"
    article = ArticleRef(
        "id", "Rail *strike*", "Example News", "https://news.example/rail", "2024-03-04T08:00:00"
    )
    assert citation(article) == "[Rail \\*strike\\*](https://news.example/rail) · Example News · 2024-03-04"
    assert citation(article, with_title=False) == "[Example News](https://news.example/rail) · 2024-03-04"
    undated = ArticleRef("id", "T", None, None, None)
    assert citation(undated) == "T · unknown outlet · undated"
    # A fetched page that named another site's article as its own: cited as its own site, with the claim.
    copier = ArticleRef("id", "T", "copier.example", "https://copier.example/t", None, claimed_source="AP")
    assert citation(copier) == "[T](https://copier.example/t) · copier.example (claims: AP) · undated"


def test_outlets_line_links_copies_and_counts_the_rest() -> None:
    outlets = [Outlet(f"Wire {n}", f"https://wire{n}.example/story") for n in range(7)]
    line = outlets_line(outlets)
    assert line.startswith("Also reported by [Wire 0](https://wire0.example/story), ") and line.endswith(
        " and 2 more"
    )
    long_urls = [Outlet(f"Wire {n}", "https://wire.example/" + "x" * 400) for n in range(5)]
    assert outlets_line(long_urls) == "Also reported by Wire 0, Wire 1, Wire 2, Wire 3, Wire 4"


def test_join_lines_stays_within_the_limit_and_says_what_was_left_out() -> None:
    lines = [f"line {n} " + "x" * 50 for n in range(100)]
    joined = join_lines(lines, 500)
    assert len(joined) <= 500 and joined.endswith("more") and joined.startswith("line 0 ")
    assert join_lines(["a", "b"], 500) == "a\nb"
    assert len(join_lines(["y" * 3000], 2000)) <= 2000


def test_small_helpers() -> None:
    assert one_line(" a \n\n b\tc ") == "a b c"
    assert blockquote("text") == "> text"


def test_a_bracket_after_an_escaped_backslash_is_still_escaped() -> None:
    assert escape("\\[click](https://evil.example)") == "\\\\\\[click\\](https://evil.example)"
    assert escape("a\\\\[b]") == "a\\\\\\\\\\[b\\]"


def test_highlight_in_less_room_than_the_bold_marks_take() -> None:
    assert highlight(QUOTE, BEST, 4) == "The" + ELLIPSIS


# -- any text, any limit --------------------------------------------------------------------------

_PINGS = re.compile(r"@(?:everyone|here)|<[@#:]|<a:|<t:")


def _escaped_at(text: str, at: int) -> bool:
    """Whether text[at] follows an odd number of backslashes: Discord shows it as it is."""
    run = len(text[:at]) - len(text[:at].rstrip("\\"))
    return run % 2 == 1


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_escaped_text_pings_nobody_and_has_no_markdown(text: str) -> None:
    shown = escape(text)
    assert not _PINGS.search(shown)
    assert all(_escaped_at(shown, at) for at, char in enumerate(shown) if char in "*_`~|[]")


@given(TEXT, st.integers(1, 300))
@settings(max_examples=300, deadline=None)
def test_trimmed_text_fits_and_is_the_texts_start_or_end(text: str, limit: int) -> None:
    head, tail = trim(text, limit), trim_start(text, limit)
    assert len(head) <= limit and len(tail) <= limit
    if len(text) <= limit:
        assert head == tail == text
    else:
        assert text.startswith(head.removesuffix(ELLIPSIS).rstrip(" "))
        assert text.endswith(tail.removeprefix(ELLIPSIS).lstrip(" "))
        assert not _escaped_at(head, len(head) - 1)  # no "\" left to escape the ellipsis


@given(TEXT, st.data(), st.integers(1, 400))
@settings(max_examples=300, deadline=None)
def test_highlight_fits_escapes_and_keeps_the_sentence_bold_when_it_fits(text: str, data, limit: int) -> None:
    words = text.split()
    first = data.draw(st.integers(0, max(len(words) - 1, 0)))
    sentence = " ".join(words[first : data.draw(st.integers(first, len(words)))])
    shown = highlight(text, sentence, limit)
    assert len(shown) <= limit and not _PINGS.search(shown)
    bold = escape(sentence)
    if sentence and len(bold) + 4 <= limit:
        assert f"**{bold}**" in shown


@given(st.lists(TEXT, max_size=10), st.integers(1, 2000))
@settings(max_examples=200, deadline=None)
def test_joined_lines_fit(lines: list[str], limit: int) -> None:
    assert len(join_lines(lines, limit)) <= limit
