import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import TEXT

from index.reading.clean import (
    _CREDIT_LABEL,
    _drop_inline_credits,
    _strip_heading_marks,
    clean_text,
    shorten,
    split_title,
)

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "examples" / "news" / "north-korea-missile-launches.txt"
FIXTURES = ROOT / "tests" / "fixtures"


def test_sample_article_loses_slug_caption_and_links():
    cleaned = clean_text(SAMPLE.read_text(encoding="utf-8"))
    assert cleaned.startswith("North Korea fires two-short range ballistic missiles")
    for gone in ("Read Also", "Related Article", "Photo", "SKOREA", "A man carries a baby", "\u00a0"):
        assert gone not in cleaned
    assert cleaned.endswith('its "ironclad" commitment to defend its allies Japan and South Korea.')
    assert "\n\n\n" not in cleaned


def test_sample_article_keeps_text_verbatim():
    raw = SAMPLE.read_text(encoding="utf-8").replace("\u00a0", " ")
    for paragraph in clean_text(raw).split("\n\n"):
        assert paragraph in raw


def test_wire_story_fixture():
    cleaned = clean_text((FIXTURES / "wire-story.txt").read_text(encoding="utf-8"))
    assert cleaned.split("\n\n") == [
        "Norway will cut its cod quota by 20% next year, the fisheries ministry said on Tuesday, "
        "citing a fall in spawning stocks.",
        "The decision follows advice from the Institute of Marine Research that stocks in the Barents Sea "
        "had dropped for a fifth year.",
        "Industry groups said the cut would cost coastal towns about NOK 2.5bn.",
        "A photo published by the ministry showed empty quays in Hammerfest. "
        "Photo editors at several papers used it on their front pages.",
        "Related talks with Russia on shared stocks are due in October.",
    ]


@pytest.mark.parametrize(
    "credit",
    [
        "(Photo : ANTHONY WALLACE/AFP via Getty Images)",
        "Photo: Jane Doe/Reuters",
        "(Image credit: NASA)",
        "Image: Wikimedia Commons",
        "John Smith/Getty Images",
        "Getty Images",
    ],
)
def test_caption_block_with_credit_is_dropped(credit):
    text = f"Crowds gather in the square on Sunday.\n{credit}\n\nThe protest was peaceful, police said."
    assert clean_text(text) == "The protest was peaceful, police said."


def test_paragraphs_about_photos_stay():
    text = (
        "Photo editors at the paper chose the image.\n\n"
        "The photo, taken by Getty Images staff, was shared widely."
    )
    assert clean_text(text) == text


def test_credit_in_long_run_together_block_drops_only_the_credit_line():
    lines = [f"Sentence number {i} of the story." for i in range(6)]
    text = "\n".join([*lines[:3], "Photo: Wire staff", *lines[3:]])
    assert clean_text(text) == "\n".join(lines)


def test_inline_photo_credit_removed():
    assert clean_text("The mayor (Photo: City Hall) opened the bridge.") == "The mayor opened the bridge."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("The mayor \t (Photo: City Hall) opened it.", "The mayor opened it."),
        ("The mayor (Photo: A) (image credit: B) opened it.", "The mayor opened it."),
        ("The mayor (Photo: A)(Photo: B), smiling, opened it.", "The mayor, smiling, opened it."),
        ("He came.\t(Photo: City Hall) The mayor opened it.", "He came. The mayor opened it."),
        ("The mayor (Photo: unclosed opened it.", "The mayor (Photo: unclosed opened it."),
    ],
)
def test_inline_credits_go_with_the_spaces_before_them(line, expected):
    assert clean_text(line) == expected


# The patterns the cleaner had before issue 29, quadratic on long whitespace runs: the linear code
# that replaced them must do exactly what they did.
_OLD_HEADING_MARKS = re.compile(r"^#{1,6}\s+|\s+#+$")
_OLD_CREDIT_INLINE = re.compile(rf"[ \t]*\(\s*{_CREDIT_LABEL}[^()\n]*\)", re.IGNORECASE)


_HEADING_PIECES = st.sampled_from(["#", "###", "######", " ", "\t", "\u2003", "\x1f", "a", "b c"])


@given(st.lists(_HEADING_PIECES, max_size=8).map("".join))
@settings(max_examples=500, deadline=None)
def test_heading_marks_go_as_the_old_pattern_took_them(line):
    assert _strip_heading_marks(line) == _OLD_HEADING_MARKS.sub("", line)


_CREDIT_PIECES = st.sampled_from(
    [" ", "\t", "\u2003", "\n", "x", "(", ")", "(Photo: AP)", "( images credit :x)", "(photos", "credit", ":"]
)  # fmt: skip


@given(st.lists(_CREDIT_PIECES, max_size=14).map("".join))
@settings(max_examples=500, deadline=None)
def test_inline_credits_go_as_the_old_pattern_took_them(line):
    assert _drop_inline_credits(line) == _OLD_CREDIT_INLINE.sub("", line)


@pytest.mark.parametrize(
    "link",
    [
        "Read Also: Storm hits coast",
        "Read more: Storm hits coast",
        "READ MORE: Storm hits coast",
        "Related Article: Storm hits coast",
        "Related: Storm hits coast",
        "ALSO READ | Storm hits coast",
        "Also read: Storm hits coast",
    ],
)
def test_story_link_lines_removed(link):
    assert clean_text(f"The storm moved north.\n\n{link}\n\nRoads reopened.") == (
        "The storm moved north.\n\nRoads reopened."
    )


def test_wire_slug_removed_but_not_hyphenated_text():
    assert clean_text("USA-ELECTION/DEBATE\nThe debate ran late.") == "The debate ran late."
    assert clean_text("Well-known US-made drones flew.") == "Well-known US-made drones flew."


def test_whitespace_normalised():
    text = "\n  First\u00a0line.   \r\nSecond line.\t\n\n\n\n\nThird.  \n"
    assert clean_text(text) == "First line.\nSecond line.\n\nThird."


def test_clean_is_idempotent():
    once = clean_text(SAMPLE.read_text(encoding="utf-8"))
    assert clean_text(once) == once


def test_split_title_headline_line_becomes_title():
    title, body = split_title("# Town votes to keep its library open #\n\nResidents voted on Saturday.")
    assert title == "Town votes to keep its library open"
    assert body == "Residents voted on Saturday."


@pytest.mark.parametrize(
    ("first", "title"),
    [
        ("## Council \t votes", "Council \t votes"),
        ("### Council votes ###", "Council votes"),
        ("Council votes #", "Council votes"),
        ("#hashtag in a line", "#hashtag in a line"),
        ("####### Seven marks", "####### Seven marks"),
        ("C# developers meet", "C# developers meet"),
    ],
)
def test_split_title_strips_markdown_heading_marks(first, title):
    assert split_title(f"{first}\n\nThe vote was close.")[0] == title


def test_split_title_lead_sentence_stays_in_body():
    title, body = split_title(SAMPLE.read_text(encoding="utf-8"))
    assert body.startswith("North Korea fires two-short range ballistic missiles on Friday,")
    assert title.endswith("\u2026")
    assert len(title) <= 100
    assert body.startswith(title[:-1])
    assert not title[:-1].endswith(" ")


@pytest.mark.parametrize("line", ["He said it was over.", 'He said "it is over."', "Is it over?"])
def test_split_title_sentence_like_short_line_is_kept(line):
    title, body = split_title(f"{line}\nMore text.")
    assert title == line
    assert body == f"{line}\nMore text."


def test_split_title_empty_and_single_line():
    assert split_title("  \n\n") == ("", "")
    assert split_title("Council meets on Monday\n") == ("Council meets on Monday", "Council meets on Monday")


def test_shorten():
    assert shorten("short", 100) == "short"
    words = "word " * 40
    cut = shorten(words.strip(), 30)
    assert len(cut) <= 30
    assert cut.endswith("word\u2026")


def test_control_characters_are_dropped():
    assert (
        clean_text("The quay\x00 closed\x1b[0m on\x85Monday.\x07\x0cNext.")
        == "The quay closed[0m on Monday.\nNext."
    )


@given(TEXT)
@example("The \u2028 (Photo: AP) \n The")  # a line separator before a credit outlived the first cleaning
@settings(max_examples=300, deadline=None)
def test_cleaning_only_removes_and_normalises(text):
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip() and "\r" not in cleaned and "\n\n\n" not in cleaned
    assert not any(unicodedata.category(c) == "Cc" and c not in "\t\n" for c in cleaned)
    written = "".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc")
    assert set(cleaned.split()) <= set(written.split())  # nothing added, words kept whole


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_split_title_gives_a_short_title_and_a_clean_body(text):
    title, body = split_title(text)
    assert len(title) <= 150 and "\n" not in title
    assert body == clean_text(body)
    assert bool(body) == bool(clean_text(text))
