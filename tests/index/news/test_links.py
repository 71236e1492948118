"""Deep links: text fragments encoded as the URL Fragment Text Directive spec asks, and short."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from index.news.links import LINK_LIMIT, deep_link, fragment_text

URL = "https://gazette.example/ferry-strike"


def directive(link: str) -> list[str]:
    """The text directive's values, decoded: [text] or [textStart, textEnd]."""
    _, _, value = link.partition("#:~:text=")
    return [unquote(part) for part in value.split(",")]


def test_a_short_quote_is_given_whole() -> None:
    link = deep_link(URL, "The strike was called off.")
    assert link == URL + "#:~:text=The%20strike%20was%20called%20off."


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("pay, hours", "pay%2C%20hours"),  # a comma separates textStart from textEnd
        ("a well-paid job", "a%20well%2Dpaid%20job"),  # a dash marks a prefix or suffix
        ("Smith & Sons", "Smith%20%26%20Sons"),  # '&' separates directives
        ('"No," she said', "%22No%2C%22%20she%20said"),
        ("“It’s over”", "%E2%80%9CIt%E2%80%99s%20over%E2%80%9D"),  # curly quotes, as UTF-8 bytes
        ("Café in Zürich", "Caf%C3%A9%20in%20Z%C3%BCrich"),
        ("50% (or more) #1", "50%25%20%28or%20more%29%20%231"),
    ],
)
def test_the_directive_syntax_and_non_ascii_are_percent_encoded(text: str, encoded: str) -> None:
    assert fragment_text(text) == encoded
    assert unquote(encoded) == text


def test_a_long_quote_is_given_by_its_first_and_last_words() -> None:
    quote = (
        "On Thursday, after talks, the strike at Northway Ferries planned for Friday was called off when "
        "crews accepted a 5% pay rise."
    )
    link = deep_link(URL, quote)
    assert link is not None and link.startswith(URL + "#:~:text=")
    assert link.count(",") == 1  # the one between textStart and textEnd: the quote's own are encoded
    start, end = directive(link)
    assert (start, end) == ("On Thursday, after talks,", "a 5% pay rise.")


def test_a_quote_over_two_paragraphs_is_matched_across_them() -> None:
    quote = "Talks failed on Wednesday.\n\nThe union then called the strike for Friday morning at six."
    start, end = directive(deep_link(URL, quote) or "")
    assert (
        "\n" not in start + end and start == "Talks failed on Wednesday." and end == "Friday morning at six."
    )


def test_links_stay_short_enough_for_discord_whatever_the_script() -> None:
    greek = " ".join(["Απεργία στα πλοία της γραμμής ακυρώθηκε μετά από συμφωνία"] * 8)
    for quote in ("word " * 500, greek, "Ω" * 300 + " end"):
        link = deep_link(URL, quote)
        assert link is not None and len(link) <= LINK_LIMIT
    # a word too long for any directive: the article's plain URL, still a link
    assert deep_link(URL, "Ω" * 300) == URL


def test_an_existing_fragment_is_kept_and_an_old_directive_replaced() -> None:
    assert deep_link(URL + "#story", "Called off.") == URL + "#story:~:text=Called%20off."
    assert deep_link(URL + "#:~:text=old", "Called off.") == URL + "#:~:text=Called%20off."


def test_no_url_no_link() -> None:
    assert deep_link(None, "The strike was called off.") is None
    assert deep_link("", "The strike was called off.") is None
