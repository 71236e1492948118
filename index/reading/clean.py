"""Strip what is not article text (wire slugs, photo captions, "Read also" links) and find a title.

Everything kept stays byte-for-byte as given, apart from whitespace normalisation, so the sentences the
bot quotes are verbatim.
"""

from __future__ import annotations

import logging
import re

from index.core.limits import MAX_FIRST_LINE_TITLE_CHARS

log = logging.getLogger(__name__)

# A Reuters/AFP-style slug line: uppercase words joined by hyphens, e.g. SKOREA-NKOREA-MILITARY-DEFENCE.
_SLUG = re.compile(r"[A-Z][A-Z0-9]*(?:[-/][A-Z0-9]+)+")

_CREDIT_LABEL = r"(?:photo(?:graph)?s?|images?|pictures?)(?:\s+credits?)?\s*:"
# A line that is a photo credit: "(Photo : X/AFP via Getty Images)", "Photo: X", "(Image credit: X)", ...
_CREDIT_LINE = re.compile(
    rf"\(?\s*{_CREDIT_LABEL}.*"
    r"|.{0,100}(?:[/(]|\bvia )\s*Getty Images\)?\.?"
    r"|(?:photo|image|picture)\s+by\s.{0,80}Getty Images\)?\.?"
    r"|\(?Getty Images\)?\.?",
    re.IGNORECASE,
)
# The same credit inside a sentence: "The mayor (Photo: AP) said ..." loses the parenthetical (and the
# spaces before it, which `_drop_inline_credits` strips: a leading [ \t]* here would be tried from every
# space of a long run, each time to its end, quadratic time on one line of spaces).
_CREDIT_INLINE = re.compile(rf"\(\s*{_CREDIT_LABEL}[^()\n]*\)", re.IGNORECASE)

# Links to other stories. "Related" needs its colon: "Related talks ..." is article text.
_LINK_LINE = re.compile(
    r"(?i:read also|also read|read more|see also|related(?: articles?| stories| news| coverage)?)\s*[:|]"
    r"|ALSO READ\b|READ MORE\b"
)

# A block longer than this with a credit line in it is article text run together, not a caption.
_CAPTION_MAX_LINES = 4

# No-break spaces become plain ones. Control characters (NUL, escape, C1 codes from mis-decoded text)
# are no text anyone wrote and would reach Discord and the splitter as is: they go, those that separate
# words (vertical tab, form feed, the information separators, next line) becoming a space or a line break.
_REPLACED = str.maketrans(
    dict.fromkeys([*range(0x00, 0x09), *range(0x0E, 0x1C), *range(0x7F, 0xA0)])
    | dict.fromkeys([0xA0, 0x202F, 0x2007, *range(0x1C, 0x20), 0x85], " ")
    | dict.fromkeys([0x0B, 0x0C], "\n")
)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
# Ends like a sentence: . ! ? or an ellipsis, possibly followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")

_HEADLINE_MAX = 150


def clean_text(text: str) -> str:
    """Return ``text`` without slugs, captions, credits, story links and control characters, whitespace
    normalised."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_REPLACED)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    blocks = (_clean_block(block) for block in _BLANK_LINES.split(text))
    return "\n\n".join(block for block in blocks if block).strip()


def _clean_block(block: str) -> str:
    """Clean one blank-line-separated block; a caption block (one with a credit line) goes whole."""
    lines = [line for line in block.split("\n") if not _is_slug(line) and not _LINK_LINE.match(line.strip())]
    credits = [line for line in lines if _CREDIT_LINE.fullmatch(line.strip())]
    if credits:
        if len(lines) <= _CAPTION_MAX_LINES:
            log.debug("dropping caption block: %.80r", block)
            return ""
        lines = [line for line in lines if line not in credits]
    # Stripped again: what stood before a dropped credit may end the line now (a line separator too),
    # and a second cleaning would strip it: cleaning is idempotent.
    return "\n".join(_drop_inline_credits(line).rstrip() for line in lines).strip("\n")


def _drop_inline_credits(line: str) -> str:
    """``line`` without its inline credits, nor the spaces and tabs before each."""
    kept, end = [], 0
    for credit in _CREDIT_INLINE.finditer(line):
        kept.append(line[end : credit.start()].rstrip(" \t"))
        end = credit.end()
    return "".join(kept) + line[end:]


def _is_slug(line: str) -> bool:
    return bool(_SLUG.fullmatch(line.strip()))


def split_title(text: str) -> tuple[str, str]:
    """Split a plain-text or Markdown article into (title, cleaned body).

    A headline-like first line becomes the title and leaves the body (unless it is all there is). A first
    line that reads as a sentence is the lead, so it stays in the body and a shortened copy of it serves
    as the title.
    """
    body = clean_text(text)
    first, _, rest = body.partition("\n")
    line = _strip_heading_marks(first).strip()
    if len(line) <= _HEADLINE_MAX and not _SENTENCE_END.search(line):
        return line, rest.strip() or body
    return shorten(line, MAX_FIRST_LINE_TITLE_CHARS), body


def _strip_heading_marks(line: str) -> str:
    """``line`` without Markdown's opening marks (one to six, then whitespace) and closing ones
    (whitespace, then any number at the end): "## Title ##" gives "Title". String methods, not a
    regex: one for the closing marks is tried from every space of a long run, each time to its end,
    which is quadratic time on a line of spaces."""
    marks = len(line) - len(line.lstrip("#"))
    if 1 <= marks <= 6 and line[marks : marks + 1].isspace():
        line = line[marks:].lstrip()
    text = line.rstrip("#")
    return text.rstrip() if text != line and text[-1:].isspace() else line


def shorten(line: str, limit: int) -> str:
    """``line`` cut at a word boundary to at most ``limit`` characters, marked with an ellipsis."""
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-\u2013\u2014") + "\u2026"
