"""Escaping and trimming article text for Discord: plain functions, no Discord needed."""

from __future__ import annotations

import pytest

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
from index.models import ArticleRef, Outlet

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
