"""Training questions too close to an evaluation set's, which would flatter what it measures (not run by CI).

    python bench/question_overlap.py bench/data/news-train5-*.jsonl [--drop]

Writers of training questions never see the evaluation sets, but news has few big events, so two
writers may ask the same unanswerable question ("who won the 2005 Booker?"), and the corpus holds some
articles twice, so a training article may be an evaluation article's twin. A training question is
*close* when it is unanswerable and shares two content words (beyond the commonest question words)
with an evaluation set's unanswerable question, or answerable about an article whose text begins as
an evaluation article's does. `--drop` removes the close unanswerable questions from the files (each
other line kept byte for byte); close answerable ones are listed for the writer to replace.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from index.search.cues import terms

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval"
EVALUATION = [
    SHARED / "news-dev" / "questions.jsonl",
    *sorted((ROOT / "bench" / "data").glob("news-check-*.jsonl")),
    ROOT / "bench" / "data" / "news-unseen-heldout.jsonl",
]
COMMON = {
    *("did", "won", "win", "how", "much", "many", "people", "pay", "got", "does", "whats", "new"),
    *("2004", "2005", "2006"),
}
TWIN = 300  # characters of an article's text that make two articles twins


class Overlap:
    """What the evaluation sets ask, to judge training questions against."""

    def __init__(self, evaluation: list[Path], articles: Path) -> None:
        asked = [json.loads(line) for path in evaluation for line in path.open(encoding="utf-8")]
        texts = {}
        for line in articles.open(encoding="utf-8"):
            row = json.loads(line)
            texts[row["id"]] = row["text"][:TWIN]
        self.texts = texts
        self.twins = {texts[q["article"]] for q in asked if q.get("article")}
        self.unanswerable = [self.words(q["question"]) for q in asked if not q.get("answers")]

    @staticmethod
    def words(question: str) -> set[str]:
        return set(terms(question)) - COMMON

    def close(self, question: dict) -> bool:
        if question.get("answers"):
            return self.texts.get(question.get("article"), "") in self.twins
        words = self.words(question["question"])
        return any(len(asked & words) >= 2 for asked in self.unanswerable)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", type=Path, nargs="+", help="training question files (JSONL)")
    parser.add_argument("--articles", type=Path, default=SHARED / "bbc-news" / "articles.jsonl")
    parser.add_argument("--drop", action="store_true", help="remove the close unanswerable questions")
    args = parser.parse_args()
    overlap = Overlap(EVALUATION, args.articles)
    for path in args.files:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        close = [line for line in lines if line.strip() and overlap.close(json.loads(line))]
        for line in close:
            print(f"{path.name}: {json.loads(line)['question']}")
        if args.drop:
            path.write_text(
                "".join(line for line in lines if line not in close or json.loads(line).get("answers")),
                encoding="utf-8",
            )


if __name__ == "__main__":
    main()
