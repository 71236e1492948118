from pathlib import Path

import pytest

import index.sentences as sentences
from index.sentences import split_sentences

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "news" / "north-korea-missile-launches.txt"


def sents(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def assert_verbatim_spans(text: str, spans: list[tuple[int, int]]) -> None:
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        previous_end = end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. economy grew 2.5% in May. Mr. Smith said so. Dr. Jones disagreed.",
            ["The U.S. economy grew 2.5% in May.", "Mr. Smith said so.", "Dr. Jones disagreed."],
        ),
        (
            "J. R. Smith arrived at 3 p.m. on Friday. He left early.",
            ["J. R. Smith arrived at 3 p.m. on Friday.", "He left early."],
        ),
        (
            "The firm raised $1.5m last year... Investors were pleased.",
            ["The firm raised $1.5m last year...", "Investors were pleased."],
        ),
        (
            '"We are done," he said. "It is over." She nodded.',
            ['"We are done," he said.', '"It is over."', "She nodded."],
        ),
        ('"Is it over?" he asked. Nobody answered.', ['"Is it over?" he asked.', "Nobody answered."]),
        ("The U.S. and the U.K. agreed. Talks go on.", ["The U.S. and the U.K. agreed.", "Talks go on."]),
    ],
)
def test_edge_cases(text, expected):
    assert sents(text) == expected


def test_sample_sentences_split():
    text = SAMPLE.read_text(encoding="utf-8")
    found = sents(text)
    launch = "The launch was also detected by Japan's Prime Minister's Office and Defense Ministry."
    guard = "They instructed the Japanese coast guard to warn ships within the country on falling debris."
    assert launch in found
    assert guard in found
    assert_verbatim_spans(text, split_sentences(text))


def test_line_breaks_end_sentences():
    text = "Heatwave warning for the south\nTemperatures will pass 35C.\n\n  Roads melted  \n"
    assert sents(text) == ["Heatwave warning for the south", "Temperatures will pass 35C.", "Roads melted"]


def test_whitespace_and_empty():
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t \n") == []
    text = "  It was late.  Very late.\tReally.  "
    assert sents(text) == ["It was late.", "Very late.", "Really."]
    assert_verbatim_spans(text, split_sentences(text))


def test_long_paragraph_windows_match_whole_segmentation(monkeypatch):
    paragraph = " ".join(
        f"Item {i} cost $1.{i}m in the U.S. last year, Mr. Lee said... Prices rose {i}.5% in Jan. and Feb."
        for i in range(30)
    )
    whole = split_sentences(paragraph)
    monkeypatch.setattr(sentences, "_WINDOW", 150)
    assert split_sentences(paragraph) == whole
    assert_verbatim_spans(paragraph, whole)


def test_sentence_longer_than_window_is_not_cut(monkeypatch):
    monkeypatch.setattr(sentences, "_WINDOW", 20)
    text = "This one sentence is much longer than the tiny window allows. Short one."
    assert sents(text) == ["This one sentence is much longer than the tiny window allows.", "Short one."]


class _AlteringSegmenter:
    """Stands in for pysbd returning text with changed whitespace or dropping a tail."""

    def segment(self, text: str) -> list[str]:
        return [" ".join(text.split()[:3]), " ".join(text.split()[3:5])]


def test_offsets_survive_altered_splitter_output(monkeypatch):
    monkeypatch.setattr(sentences, "_SEGMENTER", _AlteringSegmenter())
    text = "One  two\u2009three four five six seven."
    assert sents(text) == ["One  two\u2009three", "four five", "six seven."]
