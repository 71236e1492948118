import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import FILES, JSON, OBJECTS

from index.core.models import ArticleIn, InputProblem
from index.reading.clean import clean_text
from index.reading.readers import SUFFIXES, article_from_obj, normalise_date, read_paths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "news" / "north-korea-missile-launches.txt"


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
    assert untitled.published is None  # not a date: kept as given, but not as the date
    assert untitled.meta == {"published_raw": "sometime soon"}


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


def test_a_saved_page_declaring_a_codec_browsers_do_not_know_is_read_as_utf8_at_once(tmp_path):
    """As for a fetched page: Python's punycode codec is quadratic (seconds on this file), and no
    browser decodes with it, so only the WHATWG encodings are reachable from a page's declaration."""
    body = "Ferry crews on the northern route returned to work on Friday after the strike ended."
    page = '<html><head><meta charset="punycode"><title>Ferries</title></head>'
    filler = "caf\u00e9 " * 40_000
    page += f"<body><article><p>{body}</p><p>{filler}</p></article></body></html>"
    (tmp_path / "page.html").write_bytes(page.encode("latin-1"))
    started = time.process_time()
    [article] = read(tmp_path / "page.html")
    assert time.process_time() - started < 3.0
    assert article.text.startswith(body)
    assert "caf\ufffd" in article.text  # latin-1's é is not UTF-8: replaced, as a browser would


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
        ("last week", None),
        ("Friday", None),
        ("March 3", None),  # no year: a guess would mislead
        ("", None),
        (None, None),
    ],
)
def test_normalise_date(value, expected):
    assert normalise_date(value) == expected


def _jsonl(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD_LINE = json.dumps({"id": "good", "title": "Quay", "text": "The quay closed on Monday."})


def test_deeply_nested_json_is_one_lines_problem_and_the_lines_after_it_are_read(tmp_path):
    deep = '{"id": "x", "text": "Some text.", "meta": ' + "[" * 5000 + "]" * 5000 + "}"
    nested = json.dumps({"id": "y", "text": "Some text.", "meta": {"a": json.loads("[" * 21 + "]" * 21)}})
    path = _jsonl(tmp_path / "deep.jsonl", deep, nested, GOOD_LINE)
    too_deep, also_too_deep, good = read(path)
    assert too_deep == InputProblem(
        f"{path}:1", "JSON nested more than 20 levels deep; each line must be one article object"
    )
    assert also_too_deep.origin == f"{path}:2" and "nested more than 20 levels" in also_too_deep.message
    assert good.id == "good"


def test_deeply_nested_json_file_is_a_problem(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    [problem] = read(tmp_path / "deep.json")
    assert "nested more than 20 levels deep" in problem.message


def test_an_overlong_line_is_refused_before_it_is_parsed(tmp_path):
    huge = json.dumps({"id": "huge", "text": "word " * 500_000})
    path = _jsonl(tmp_path / "big.jsonl", huge, GOOD_LINE)
    problem, good = read(path)
    assert problem.origin == f"{path}:1"
    assert problem.message == "the line is 2,500,026 characters long, over the 2,000,000 an article may take"
    assert good.id == "good"


def test_a_huge_text_file_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr("index.reading.readers.MAX_DOCUMENT_BYTES", 1000)
    (tmp_path / "big.txt").write_text("Title\n" + "Words and words. " * 100, encoding="utf-8")
    [problem] = read(tmp_path / "big.txt")
    assert problem.message.startswith("1,706 bytes is too big for one article (the limit is 1,000)")


def test_overlong_fields_are_refused_and_lone_surrogates_replaced():
    long_id = article_from_obj({"id": "x" * 2001, "text": "Some text."}, "api")
    assert long_id == InputProblem("api", 'the "id" field is 2,001 characters long; the limit is 2,000')
    article = json.loads('{"title": "Caf\\udce9", "text": "Bad \\ud800 byte.", "tags": ["\\udfff"]}')
    fixed = article_from_obj(article, "api")
    assert (fixed.title, fixed.text, fixed.meta) == ("Caf\ufffd", "Bad \ufffd byte.", {"tags": ["\ufffd"]})


def test_a_reader_that_breaks_costs_only_its_own_input(tmp_path, monkeypatch, caplog):
    def broken(html, url=None):
        raise ValueError("parser on fire")

    monkeypatch.setattr("index.reading.readers.extract_article", broken)
    (tmp_path / "a.html").write_text("<p>page</p>", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Title\nBody text.", encoding="utf-8")
    problem, article = read(tmp_path)
    assert problem == InputProblem(
        str(tmp_path / "a.html"),
        "could not be read (ValueError: parser on fire); check the input, or report this",
    )
    assert article.text == "Body text." and "parser on fire" in caplog.text


def test_files_name_their_articles_by_their_resolved_path(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("Title\nBody text.", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    [article] = read("a.txt")
    assert (article.origin, article.key) == ("a.txt", str(tmp_path.resolve() / "a.txt"))


# -- any input either reads or is a problem -------------------------------------------------------


def assert_readable(item: ArticleIn | InputProblem) -> None:
    """An article ready to store (clean text, UTF-8-encodable fields), or a problem with a message."""
    if isinstance(item, InputProblem):
        assert item.message and item.origin
        return
    assert item.text and item.text == clean_text(item.text)
    fields = [item.title, item.text, item.id, item.url, item.source, item.published, json.dumps(item.meta)]
    for value in filter(None, fields):
        value.encode("utf-8")  # SQLite stores UTF-8: a lone surrogate would fail the whole batch


@given(obj=st.one_of(OBJECTS, JSON))
@settings(max_examples=300, deadline=None)
def test_any_json_value_is_an_article_or_a_problem(obj):
    assert_readable(article_from_obj(obj, "api"))


@given(content=FILES, suffix=st.sampled_from(sorted(SUFFIXES)))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_file_gives_articles_or_problems_never_a_traceback(content, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "input" + suffix)
        path.write_bytes(content)
        items = read(path)
    assert items
    for item in items:
        assert_readable(item)
        assert item.origin.startswith(str(path))


def test_a_jsonl_line_that_is_not_text_costs_only_itself(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b"\n".join([GOOD_LINE.encode(), b'{"text": "a\x00b"}', b'{"text": "caf\xe9"}', GOOD_LINE.encode()])
    )
    first, nul, latin1, last = read(path)
    assert (first.id, last.id) == ("good", "good")
    assert nul.origin == f"{path}:2" and nul.message.startswith("binary data (a NUL byte), not text")
    assert latin1 == InputProblem(
        f"{path}:3", "not UTF-8 text (bad byte at column 14); save the file as UTF-8"
    )


def test_a_binary_file_named_jsonl_is_one_problem(tmp_path):
    (tmp_path / "photo.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\n\x00\x01\xff")
    [problem] = read(tmp_path / "photo.jsonl")
    assert problem.message.startswith("binary file, not text")
