"""Sentence splitters compared on news: accuracy first, then speed (not run by CI).

    python bench/splitters.py [--articles ../shared/eval/bbc-news/articles.jsonl] \
        [--questions ../shared/eval/news-dev/questions.jsonl] [--only NAME ...]

Every splitter reads an article a line (a paragraph) at a time, as `index.reading.sentences` feeds
one; what it returns is located in the text, so a splitter that alters whitespace is not penalised for it.

- gold: the share of the questions' gold answer sentences that the splitter produces exactly, as one
  whitespace-trimmed span of the article's text: a sentence the bot can quote whole.
- tricky: the same share over the hand-written news sentences of tests/fixtures/tricky-sentences.jsonl
  (titles, abbreviations, amounts, initials, quotes ending in ?" and !", ellipses).
- missed/k, stray/k: two mistakes counted over the whole corpus, per 1,000 sentences produced, where
  the 70 gold sentences are too few to tell splitters apart. missed: a sentence end left inside a
  span (a lower-case word of 3+ letters, . ! or ?, then a capital, a digit or an amount: "in May. Mr",
  "the user. "None"); stray: a span starting with a closing quote (`" He said`), the end of the
  sentence before. Heuristics: a few are false alarms ("latinohiphopradio.com. He").
- sentences/s: over every article of the corpus, after one warm-up article.

"newsbot" is `index.reading.sentences.split_sentences` itself (its windows and run-on limit included); a
splitter whose package is not installed is listed as such.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

Spans = list[tuple[int, int]]

ROOT = Path(__file__).resolve().parents[1]
TRICKY = ROOT / "tests" / "fixtures" / "tricky-sentences.jsonl"
_LINE = re.compile(r"[^\r\n]+")


def _located(text: str, pieces: list[str]) -> Spans:
    """Spans of ``pieces`` in ``text``, searched in order, whitespace inside a piece allowed to differ."""
    spans: Spans = []
    cursor = 0
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        at = text.find(piece, cursor)
        if at < 0 or text[cursor:at].strip():
            pattern = r"\s*".join(re.escape(c) for c in piece if not c.isspace())
            match = re.compile(pattern).search(text, cursor)
            if match is None:
                continue
            spans.append(match.span())
        else:
            spans.append((at, at + len(piece)))
        cursor = spans[-1][1]
    return spans


def _pysbd() -> Callable[[str], Spans]:
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return lambda text: _located(text, segmenter.segment(text))


def _blingfire() -> Callable[[str], Spans]:
    import blingfire

    return lambda text: blingfire.text_to_sentences_and_offsets(text)[1]


def _syntok() -> Callable[[str], Spans]:
    from syntok import segmenter

    def split(text: str) -> Spans:
        return [
            (s[0].offset, s[-1].offset + len(s[-1].value)) for para in segmenter.analyze(text) for s in para
        ]

    return split


def _sentencex() -> Callable[[str], Spans]:
    import sentencex

    return lambda text: _located(text, list(sentencex.segment("en", text)))


def _nupunkt() -> Callable[[str], Spans]:
    import nupunkt

    return lambda text: nupunkt.sentence_spans(text)


def _nupunkt_rs() -> Callable[[str], Spans]:
    import nupunkt_rs

    tokenizer = nupunkt_rs.create_default_tokenizer()
    return lambda text: _located(text, tokenizer.tokenize(text))


def _segtok() -> Callable[[str], Spans]:
    from segtok.segmenter import split_single

    return lambda text: _located(text, split_single(text))


# name -> (pip package, factory of a paragraph splitter)
SPLITTERS: dict[str, tuple[str, Callable[[], Callable[[str], Spans]]]] = {
    "pysbd": ("pysbd", _pysbd),
    "blingfire": ("blingfire", _blingfire),
    "syntok": ("syntok", _syntok),
    "sentencex": ("sentencex", _sentencex),
    "nupunkt": ("nupunkt", _nupunkt),
    "nupunkt-rs": ("nupunkt-rs", _nupunkt_rs),
    "segtok": ("segtok", _segtok),
}


def by_paragraph(split: Callable[[str], Spans]) -> Callable[[str], Spans]:
    """A whole-text splitter from a paragraph splitter, its spans trimmed, as `index.reading.sentences`
    does."""

    def whole(text: str) -> Spans:
        spans: Spans = []
        for line in _LINE.finditer(text):
            base = line.start()
            for start, end in split(line.group()):
                piece = line.group()[start:end]
                if piece.strip():
                    first = start + len(piece) - len(piece.lstrip())
                    spans.append((base + first, base + first + len(piece.strip())))
        return spans

    return whole


def share_found(split: Callable[[str], Spans], cases: list[tuple[str, list[str]]]) -> float:
    """The share of the expected sentences, over all ``cases`` (text, sentences), found as one span."""
    found = total = 0
    for text, expected in cases:
        produced = {text[a:b] for a, b in split(text)}
        found += sum(sentence in produced for sentence in expected)
        total += len(expected)
    return found / total


_MISSED = re.compile(r"\b(?!etc\b)[a-z]{3,}[.!?][\"\u201d\u2019)]*\s+[\"\u201c\u2018(]?[A-Z0-9£$€]")
_STRAY = re.compile(r"[\"\u201d]\s")


def corpus_run(split: Callable[[str], Spans], texts: list[str]) -> tuple[float, float, float]:
    """Sentences/s over ``texts`` (after a warm-up), then missed and stray mistakes per 1,000."""
    split(texts[0])
    started = time.perf_counter()
    spans = [split(text) for text in texts]
    rate = sum(map(len, spans)) / (time.perf_counter() - started)
    pieces = [text[a:b] for text, found in zip(texts, spans, strict=True) for a, b in found]
    missed = sum(len(_MISSED.findall(piece)) for piece in pieces)
    stray = sum(_STRAY.match(piece) is not None for piece in pieces)
    return rate, 1000 * missed / len(pieces), 1000 * stray / len(pieces)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    shared = ROOT.parent / "shared" / "eval"
    parser.add_argument("--articles", type=Path, default=shared / "bbc-news" / "articles.jsonl")
    parser.add_argument("--questions", type=Path, default=shared / "news-dev" / "questions.jsonl")
    parser.add_argument("--only", nargs="+", choices=[*SPLITTERS, "newsbot"], help="splitters to run")
    args = parser.parse_args()

    articles = {a["id"]: a["text"] for a in map(json.loads, args.articles.open(encoding="utf-8"))}
    by_article: dict[str, list[str]] = {}
    for question in map(json.loads, args.questions.open(encoding="utf-8")):
        if question.get("sentence"):
            by_article.setdefault(question["article"], []).append(question["sentence"].strip())
    gold = [(articles[a], sentences) for a, sentences in by_article.items()]
    tricky = [(c["text"], c["sentences"]) for c in map(json.loads, TRICKY.open(encoding="utf-8"))]
    texts = list(articles.values())

    print(
        f"{sum(len(s) for _, s in gold)} gold sentences of {len(gold)} articles; "
        f"{sum(len(s) for _, s in tricky)} tricky sentences; speed over {len(texts)} articles"
    )
    print(f"{'splitter':<12} {'gold':>6} {'tricky':>7} {'missed/k':>9} {'stray/k':>8} {'sentences/s':>12}")
    for name in args.only or [*SPLITTERS, "newsbot"]:
        if name == "newsbot":
            from index.reading.sentences import split_sentences as split
        else:
            package, factory = SPLITTERS[name]
            try:
                split = by_paragraph(factory())
            except ImportError:
                print(f"{name:<12} not installed (pip install {package})")
                continue
        rate, missed, stray = corpus_run(split, texts)
        print(
            f"{name:<12} {share_found(split, gold):>6.1%} {share_found(split, tricky):>7.1%} "
            f"{missed:>9.1f} {stray:>8.1f} {rate:>12,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
