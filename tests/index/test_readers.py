import json
import shutil
from pathlib import Path

import pytest

from index.models import ArticleIn, InputProblem
from index.readers import article_from_obj, normalise_date, read_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "news" / "north-korea-missile-launches.txt"


def read(*paths) -> list[ArticleIn | InputProblem]:
    return list(read_paths(paths))


def test_text_file():
    [article] = read(SAMPLE)
    assert isinstance(article, ArticleIn)
    assert article.id is None
    assert article.origin == str(SAMPLE)
    assert article.text.startswith("North Korea fires two-short range ballistic missiles")
    assert article.title.endswith("\u2026")


def test_markdown_file():
    [article] = read(FIXTURES / "library-vote.md")
    assert article.title == "Town votes to keep its library open"
    assert article.text.startswith("Residents of Millbrook voted 812 to 640")


def test_html_file():
    [article] = read(str(FIXTURES / "harbour-bridge.html"))
    assert article.title == "Harbour bridge reopens after two years of repairs"
    assert article.origin == str(FIXTURES / "harbour-bridge.html")
    assert article.published == "2023-05-12"


def test_jsonl_file_reports_bad_lines_and_goes_on():
    origin = str(FIXTURES / "articles.jsonl")
    results = read(FIXTURES / "articles.jsonl")
    assert [type(r).__name__ for r in results] == [
        "ArticleIn",
        "InputProblem",
        "InputProblem",
        "InputProblem",
        "ArticleIn",
    ]
    first, broken, no_text, empty, untitled = results
    assert first.id == "101"
    assert first.title == "Rail strike called off"
    assert first.url == "https://news.example.net/rail"
    assert first.source == "Example News"
    assert first.published == "2024-03-04"
    assert first.meta == {"section": "business"}
    assert first.origin == f"{origin}:1"
    assert broken.origin == f"{origin}:2"
    assert "not valid JSON" in broken.message
    assert no_text.origin == f"{origin}:3"
    assert '"text"' in no_text.message
    assert empty.origin == f"{origin}:5"
    assert "no article text" in empty.message
    assert untitled.origin == f"{origin}:6"
    assert untitled.title == "Heatwave warning for the south"
    assert untitled.text == "Temperatures will pass 35C on Thursday, forecasters said."
    assert untitled.published == "sometime soon"


def test_json_list_file():
    origin = str(FIXTURES / "articles.json")
    article, not_object, bad_text = read(FIXTURES / "articles.json")
    assert article.id == "7"
    assert article.meta == {"author": "P. Quinn"}
    assert article.origin == f"{origin}[0]"
    assert not_object == InputProblem(f"{origin}[1]", "expected an article object, got str")
    assert bad_text.origin == f"{origin}[2]"
    assert "non-string (int)" in bad_text.message


def test_json_single_object_and_malformed(tmp_path):
    good = tmp_path / "one.json"
    good.write_text(json.dumps({"id": "a", "title": "T", "text": "Body text.\u00a0Here."}), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "a",', encoding="utf-8")
    article, problem = read(good, bad)
    assert article.text == "Body text. Here."
    assert problem.origin == str(bad)
    assert problem.message.startswith("not valid JSON")


def test_missing_binary_undecodable_and_unsupported(tmp_path):
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin1.txt").write_bytes("Caf\u00e9 owners protest.".encode("latin-1"))
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    missing, binary, latin1, pdf = read(
        tmp_path / "nope.txt", tmp_path / "photo.txt", tmp_path / "latin1.txt", tmp_path / "report.pdf"
    )
    assert missing == InputProblem(str(tmp_path / "nope.txt"), f"no such file: {tmp_path / 'nope.txt'}")
    assert "binary" in binary.message
    assert "UTF-8" in latin1.message
    assert "unsupported file type '.pdf'" in pdf.message


def test_non_utf8_html_is_decoded(tmp_path):
    body = "Caf\u00e9 owners in the old town protested against the new parking charges on Monday."
    page = '<html><head><meta charset="iso-8859-1"><title>Caf\u00e9 protest</title></head>'
    page += f"<body><article><p>{body}</p></article></body></html>"
    (tmp_path / "page.html").write_bytes(page.encode("latin-1"))
    [article] = read(tmp_path / "page.html")
    assert article.text == body


def test_empty_text_file(tmp_path):
    (tmp_path / "empty.txt").write_text("SPORT-FOOTBALL-RESULTS\n\n", encoding="utf-8")
    [problem] = read(tmp_path / "empty.txt")
    assert isinstance(problem, InputProblem)
    assert "no article text" in problem.message


def test_directory_recursive_sorted_skipping_hidden_and_unknown(tmp_path):
    shutil.copy(FIXTURES / "library-vote.md", tmp_path / "b.md")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Headline\nSome text.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("First\nFirst text.", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.txt").write_text("Hidden\nHidden text.", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("Git\nGit text.", encoding="utf-8")
    results = read(tmp_path)
    names = [Path(r.origin).relative_to(tmp_path).as_posix() for r in results]
    assert names == ["a.txt", "b.md", "sub/a.txt"]
    assert all(isinstance(r, ArticleIn) for r in results)


def test_directory_without_articles(tmp_path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    [problem] = read(tmp_path)
    assert "no article files" in problem.message


def test_article_from_obj_public():
    article = article_from_obj(
        {"id": 5, "title": " Two\nlines ", "text": "Photo: X\nCaption.\n\nReal text.", "lang": "en"}, "api"
    )
    expected = ArticleIn(title="Two lines", text="Real text.", id="5", meta={"lang": "en"}, origin="api")
    assert article == expected
    assert article_from_obj({"title": "x"}, "api").origin == "api"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-01-14", "2022-01-14"),
        ("Jan 14, 2022", "2022-01-14"),
        ("14 January 2022 10:30", "2022-01-14T10:30:00"),
        ("2022-01-14T10:00:00Z", "2022-01-14T10:00:00+00:00"),
        ("last week", "last week"),
        ("Friday", "Friday"),
        ("", None),
        (None, None),
    ],
)
def test_normalise_date(value, expected):
    assert normalise_date(value) == expected
