"""The eval arithmetic, checked by hand on a tiny made-up run."""

import json

import pytest

from index.core.models import ArticleRef
from index.features import evaluate
from index.search.answer import Answer, AskResult


@pytest.mark.parametrize(
    ("sentence", "answers", "hit"),
    [
        ("It was built in 1943.", ["43"], False),
        ("Nickel prices rose.", ["Nick"], False),
        ("His son Nick spoke first.", ["Nick"], True),
        ("The   Pew Internet\nproject said so.", ["pew internet\tproject"], True),
        ("The Pew project said so.", ["Pew Internet project"], False),
        ('Councils get "temporary stop notices".', ['"temporary stop notices"'], True),
        ("It costs $150 a go.", ["$150"], True),
        ("A .22 calibre rifle.", [".22"], True),
        ("x" * 480 + " Maria Okafor " + "y" * 30, ["Maria Okafor"], False),  # over 500 characters
    ],
)
def test_contains_answer(sentence, answers, hit):
    assert evaluate.contains_answer(sentence, answers) is hit
    # the span a training label points at is found where, and only where, the answer is contained
    span = evaluate.answer_span(sentence, answers)
    assert (span is not None) is hit or len(sentence) > evaluate.MAX_SENTENCE_CHARS
    if hit:
        assert evaluate.contains_answer(sentence[span[0] : span[1]], answers)


class ScriptedEngine:
    """Answers each question with fixed sentences, so the expected scores can be worked out by hand."""

    def __init__(self, script: dict[str, tuple[bool, list[str]]]) -> None:
        self.script = script

    def ask(self, question: str, k: int | None = None) -> AskResult:
        answered, sentences = self.script[question]
        ref = ArticleRef("a1", "T", "S", None, None)
        return AskResult(question, answered, [Answer(s, s, 1.0, ref, s) for s in sentences])


def test_scores_on_a_hand_checked_run(tmp_path):
    questions = [
        evaluate.Question("q1", ["red"], "what"),  # hit at rank 1
        evaluate.Question("q2", ["blue"], "what"),  # hit at rank 2
        evaluate.Question("q3", ["green"], "who"),  # hit at rank 4, and refused
        evaluate.Question("q4", ["pink"], "who"),  # no hit
        evaluate.Question("q5", [], "unanswerable"),  # refused: right
        evaluate.Question("q6", [], "unanswerable"),  # answered: wrong
    ]
    engine = ScriptedEngine(
        {
            "q1": (True, ["A red car.", "Blue."]),
            "q2": (True, ["Grey.", "A blue van."]),
            "q3": (False, ["a", "b", "c", "The green door."]),
            "q4": (True, ["Nothing here."]),
            "q5": (False, ["Something."]),
            "q6": (True, ["Something else."]),
        }
    )
    outcomes = evaluate.run(engine, questions)
    report = evaluate.summarize(outcomes)
    assert report["answerable"] == 4 and report["unanswerable"] == 2
    assert report["hit@1"] == 0.25  # q1
    assert report["hit@3"] == 0.5  # q1, q2
    assert report["mrr@10"] == round((1 + 1 / 2 + 1 / 4) / 4, 4)  # 0.4375
    assert report["refused_answerable"] == 0.25  # q3
    assert report["refused_unanswerable"] == 0.5  # q5
    assert report["by_kind"]["what"]["hit@1"] == 0.5
    assert report["by_kind"]["who"] == {
        "questions": 2,
        "answerable": 2,
        "hit@1": 0.0,
        "hit@3": 0.0,
        "mrr@10": 0.125,
        "refused": 0.5,
    }
    assert set(report["latency_ms"]) == {"mean", "p95"}

    misses = tmp_path / "misses.jsonl"
    assert evaluate.write_misses(outcomes, misses) == 4  # q2, q3, q4 missed first place; q6 answered
    rows = [json.loads(line) for line in misses.read_text().splitlines()]
    assert [r["question"] for r in rows] == ["q2", "q3", "q4", "q6"]
    assert rows[0]["quoted"] == "Grey." and rows[0]["rank"] == 2


def test_scores_by_file_once_there_are_several(tmp_path):
    """Each writer's questions scored apart: a set that reads high cannot hide one that reads low."""
    mine, theirs = tmp_path / "mine.jsonl", tmp_path / "theirs.jsonl"
    mine.write_text('{"question": "q1", "answers": ["red"]}\n{"question": "q2", "answers": ["blue"]}\n')
    theirs.write_text('{"question": "q4", "answers": ["pink"]}\n{"question": "q5", "answers": []}\n')
    engine = ScriptedEngine(
        {
            "q1": (True, ["A red car."]),
            "q2": (True, ["Grey.", "A blue van."]),
            "q4": (True, ["Nothing here."]),
            "q5": (False, ["Something."]),
        }
    )
    both = evaluate.summarize(
        evaluate.run(engine, evaluate.load_questions(mine) + evaluate.load_questions(theirs))
    )
    assert both["hit@1"] == round(1 / 3, 4)
    assert both["by_file"][str(mine)] == {
        "questions": 2,
        "answerable": 2,
        "hit@1": 0.5,
        "hit@3": 1.0,
        "mrr@10": 0.75,
        "refused": 0.0,
    }
    assert both["by_file"][str(theirs)]["hit@1"] == 0.0 and both["by_file"][str(theirs)]["refused"] == 0.5
    one = evaluate.summarize(evaluate.run(engine, evaluate.load_questions(mine)))
    assert "by_file" not in one


def test_load_questions_reports_the_bad_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a", "answers": ["b"]}\n{"answers": []}\n')
    with pytest.raises(ValueError, match="q.jsonl:2"):
        evaluate.load_questions(path)
    assert len(evaluate.load_questions(path, limit=1)) == 1


def test_the_held_out_half_is_what_odd_selects_and_what_training_never_reads(tmp_path):
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps({"id": i}) + "\n" for i in ("a0", "a1", "a2", "a3")))
    questions = [
        evaluate.Question(f"q{i}", ["x"], article=a) for i, a in enumerate(["a0", "a1", "a3", "news/1"])
    ]
    assert [q.article for q in evaluate.by_position(questions, articles, "odd")] == ["a1", "a3"]
    assert [q.article for q in evaluate.by_position(questions, articles, "even")] == ["a0"]
    assert [q.article for q in evaluate.without_held_out(questions, articles)] == ["a0", "news/1"]
    with pytest.raises(ValueError, match="even"):
        evaluate.by_position(questions, articles, "third")
