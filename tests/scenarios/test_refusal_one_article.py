"""Refusal on a one-article corpus (the bundled sample alone), with the real model and the shipped
reranker: a new user's first questions are plain, often paraphrased ("stuck" for "stalled"), and the
rule fit on thousands of BBC articles must not refuse them here (issue 32)."""

from index.features.evaluate import contains_answer, load_questions
from tests.conftest import ROOT

QUESTIONS = ROOT / "bench" / "data" / "sample-questions.jsonl"


# Three paraphrases the rule still refuses: "private" and "held" are not the story's words ("conducted
# a closed-door meeting"), nor "want" / "stop" ("urged ... to end"), both within 0.02 of the threshold;
# nor "stuck" ("stalled"), which the reranker trained with news-train7 reads lower than the one before
# did (0.60 under). Issue 32's target is none; this pins where it stands (the rule fit before the
# reranker refused 12 of 23).
STILL_REFUSED = {
    "who held a private meeting about the launch",
    "what did the us and its allies want north korea to stop",
    "why are the denuclearisation talks stuck?",
}


def test_plain_questions_whose_first_quote_is_right_are_answered_and_near_misses_refused(sample_engine):
    questions = load_questions(QUESTIONS)
    results = sample_engine.ask_many([q.question for q in questions], k=1)
    right = [
        (q.question, r.answered)
        for q, r in zip(questions, results, strict=True)
        if q.answers and r.answers and contains_answer(r.answers[0].sentence, q.answers)
    ]
    assert len(right) >= 20  # the first quote is right for nearly all of the 24 answerable ones
    assert {question for question, answered in right if not answered} <= STILL_REFUSED
    near_misses = [r for q, r in zip(questions, results, strict=True) if not q.answers]
    refused = sum(not r.answered for r in near_misses)
    assert len(near_misses) == 12 and refused >= 7, f"only {refused} of 12 near misses refused"
