from pathlib import Path

import pytest

from index.reading.html import extract_article, site_of

PAGE = (Path(__file__).resolve().parents[2] / "fixtures" / "harbour-bridge.html").read_text(encoding="utf-8")


def test_extracts_article_and_metadata():
    article = extract_article(PAGE, url="https://courier.example.com/x?utm_source=feed")
    assert article is not None
    assert article.title == "Harbour bridge reopens after two years of repairs"
    assert article.url == "https://courier.example.com/news/2023/05/harbour-bridge-reopens"
    assert article.source == "The Coastal Courier"
    assert article.published == "2023-05-12"
    assert article.meta["description"].startswith("The Old Harbour bridge carries traffic again")
    assert "Jensen" in article.meta["author"]


def test_text_is_main_content_cleaned():
    text = extract_article(PAGE).text
    assert text.startswith("The Old Harbour bridge reopened to traffic on Friday morning")
    assert 'the town "finally has its front door back."' in text
    assert "Engineers will inspect the cables again in six months, the council said." in text
    junk = ("Read more", "Subscribe", "Most read", "All rights reserved", "Photo:", "Harbour bridge reopens")
    for gone in junk:
        assert gone not in text


def test_url_and_hostname_fallbacks_without_metadata():
    body = "A storm hit the coast on Monday and closed three roads near the harbour, police said."
    page = "<html><head><title>Storm hits coast</title></head>"
    page += f"<body><article><p>{body}</p></article></body></html>"
    article = extract_article(page, url="https://www.example.org/news/storm")
    assert article is not None
    assert article.title == "Storm hits coast"
    assert article.text == body
    assert article.url == "https://www.example.org/news/storm"
    assert article.source == "example.org"
    assert article.published is None


def test_no_article_text():
    assert extract_article("") is None
    assert extract_article("<html><body><nav><a href='/'>Home</a></nav></body></html>") is None


def claiming_page(canonical: str) -> str:
    body = "The harbour wall gave way on Sunday night and flooded the lower town, the fire service said."
    return (
        f'<html><head><title>Wall gives way</title><link rel="canonical" href="{canonical}">'
        '<meta property="og:site_name" content="The Courier"></head>'
        f"<body><article><p>{body}</p></article></body></html>"
    )


@pytest.mark.parametrize(
    ("canonical", "fetched", "same_site"),
    [
        ("https://www.courier.co.uk/news/wall", "https://m.courier.co.uk/news/wall", True),  # one domain
        ("https://news.example/wall", "http://www.news.example:8080/amp/wall", True),  # no known suffix
        ("http://10.0.0.1/wall", "http://10.0.0.1:8080/copy", True),
        ("https://www.courier.co.uk/news/wall", "https://copier.co.uk/wall", False),
        ("https://alice.github.io/wall", "https://mallory.github.io/wall", False),  # a private suffix
        ("https://news.example/wall", "https://news.example.copier.example/wall", False),
        ("http://10.0.0.1/wall", "http://10.0.0.2/wall", False),
    ],
)
def test_a_page_is_taken_at_its_word_only_on_its_own_site(
    canonical: str, fetched: str, same_site: bool
) -> None:
    article = extract_article(claiming_page(canonical), url=fetched)
    assert article is not None
    if same_site:
        assert (article.url, article.source) == (canonical, "The Courier")
        assert "claimed_url" not in article.meta and "claimed_source" not in article.meta
    else:
        assert (article.url, article.source) == (fetched, site_of(fetched))
        assert (article.meta["claimed_url"], article.meta["claimed_source"]) == (canonical, "The Courier")


def test_site_of() -> None:
    assert site_of("https://www.bbc.co.uk/news") == site_of("https://m.bbc.co.uk/x") == "bbc.co.uk"
    assert site_of("https://alice.github.io/x") == "alice.github.io"
    assert site_of("http://WWW.Copier.Example:8080/x") == "copier.example"
    assert site_of("http://127.0.0.1:8080/x") == "127.0.0.1"
    assert site_of("/relative/path") is None


def test_a_saved_page_is_taken_at_its_word() -> None:
    """A file is vouched for by whoever ingests it (uploads turn it into claims themselves)."""
    article = extract_article(claiming_page("https://www.courier.co.uk/news/wall"))
    assert article is not None
    assert (article.url, article.source) == ("https://www.courier.co.uk/news/wall", "The Courier")
