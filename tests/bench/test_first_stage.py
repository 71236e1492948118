"""bench/first_stage.py on a tiny corpus of our own: its recall report (what the reranker can read)."""

import json
import os
import subprocess
import sys

from tests.bench.corpus import ingested
from tests.conftest import FIXTURES, ROOT


def test_recall_counts_the_answerable_questions_whose_answer_the_first_stage_holds(tmp_path, model):
    corpus = FIXTURES / "rerank"
    data = ingested(tmp_path, model)
    questions = tmp_path / "questions.jsonl"  # the fixture's six, one unanswerable and one never stated
    lines = (corpus / "questions.jsonl").read_text().splitlines()
    unanswerable = {"id": "u1", "question": "who won the cup", "answers": []}
    nowhere = {"id": "n1", "question": "who runs the mill", "answers": ["Nobody Named Here"]}
    questions.write_text("\n".join([*lines, json.dumps(unanswerable), json.dumps(nowhere)]) + "\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "first_stage.py"), "--data-dir", str(data), str(questions)]
        + ["--rounds", "1", "--recall"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["questions"] == 8
    # three short articles: every sentence is a candidate, so each stated answer is held at any depth
    assert report["recall"] == {
        "answerable": 7,
        "@10": round(6 / 7, 3),
        "@30": round(6 / 7, 3),
        "all": round(6 / 7, 3),
    }
