from pathlib import Path

from index.html import extract_article

PAGE = (Path(__file__).resolve().parents[1] / "fixtures" / "harbour-bridge.html").read_text(encoding="utf-8")


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
