"""`newsbot trend` and `newsbot feedback export`, run in-process with the real model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import test_cli
from harness import write_harbour_stories
from PIL import Image

from bot.chart import HEIGHT, WIDTH
from bot.cli import main
from index.core.models import ArticleRef
from index.features.feedback import DOWN, UP, Feedback
from index.search.answer import Answer
from index.storage.store import Store

cli = test_cli.cli  # the fixture running `newsbot ARGS --data-dir TMP` with the session's models


def test_trend_writes_the_chart_and_says_what_it_shows(cli, tmp_path: Path) -> None:
    cli("ingest", str(write_harbour_stories(tmp_path)))
    out = tmp_path / "ferry.png"
    code, stdout, _ = cli("trend", "ferry", "--until", "2024-03-05", "--out", str(out))
    assert code == 0
    assert stdout == f"{out}: 4 articles about “ferry”, 2024-03-01 to 2024-03-05, per day: " + (
        "Coast Times 2, Harbour Herald 2.\n"
    )
    image = Image.open(io.BytesIO(out.read_bytes()))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)


def test_trend_with_nothing_to_chart_writes_nothing(cli, tmp_path: Path) -> None:
    cli("ingest", str(write_harbour_stories(tmp_path)))
    out = tmp_path / "none.png"
    code, _, err = cli("trend", "quantum", "computing", "--out", str(out))
    assert code == 1 and err.startswith("newsbot: No articles match “quantum computing”: nothing to chart.")
    assert not out.exists()
    code, _, err = cli("trend", "ferry", "--since", "2024-13-01", "--out", str(out))
    assert code == 2 and "--since must be a date" in err


def test_trend_over_all_dates_charts_the_days_with_articles(cli, tmp_path: Path) -> None:
    cli("ingest", str(write_harbour_stories(tmp_path)))
    out = tmp_path / "ferry.png"
    code, stdout, _ = cli(
        "trend", "ferry", "--since", "0001-01-01", "--until", "9999-12-31", "--out", str(out)
    )
    assert code == 0 and stdout.startswith(
        f"{out}: 5 articles about “ferry”, 2024-03-01 to 2024-03-07, per day"
    )
    code, _, err = cli("trend", "ferry", "--until", "10000-01-01", "--out", str(out))
    assert code == 2 and "--until must be a date" in err


def test_trend_needs_a_png_to_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["trend", "ferry", "--out", str(tmp_path / "chart.jpg"), "--data-dir", str(tmp_path)])
    assert exit.value.code == 2 and "name a .png file" in capsys.readouterr().err


def test_feedback_export_writes_eval_questions(cli, tmp_path: Path) -> None:
    cli("ingest", str(write_harbour_stories(tmp_path)))
    store = Store(tmp_path / "data" / "newsbot.db")
    ref = ArticleRef("h3", "Ferry crew strike", "Coast Times", None, "2024-03-04")
    sentence = "Ferry crews in the harbour walked out over pay on Tuesday."
    answer = Answer(sentence=sentence, quote=sentence, score=1.0, article=ref, context=sentence)
    try:
        Feedback(store).record("Why did ferry crews strike?", answer, UP, 111, guild_id=5)
        Feedback(store).record("When did the crews strike?", answer, DOWN, 111, guild_id=5)
    finally:
        store.close()
    path = tmp_path / "feedback.jsonl"
    code, out, _ = cli("feedback", "export", str(path))
    assert code == 0 and out.splitlines() == [
        f"wrote {path}: 1 questions with 1 answers voted up",
        "left out 1 questions with no answer voted up on balance: "
        "a vote down says which quote is wrong, not which is right",
    ]
    (line,) = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines()]
    assert (line["question"], line["answers"], line["article"]) == (
        "Why did ferry crews strike?",
        [sentence],
        "h3",
    )
