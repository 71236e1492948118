"""The `newsbot` command line, run in-process on the bundled sample with the real model."""

import json

import pytest

from bot.cli import main
from index.storage.embed import SentenceTransformerEmbedder


@pytest.fixture
def cli(tmp_path, monkeypatch, model, reranker, capsys):
    """Run `newsbot ARGS --data-dir TMP`; returns (exit code, stdout, stderr). The models load once."""
    monkeypatch.setattr("index.engine.create_embedder", lambda settings: model)
    monkeypatch.setattr(
        "index.engine.create_reranker", lambda enabled, folder, precision: reranker if enabled else None
    )
    data = tmp_path / "data"

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--data-dir", str(data)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_ingest_then_ask_quotes_the_coast_guard(cli, sample_dir):
    code, out, _ = cli("ingest", str(sample_dir))
    assert code == 0 and out.startswith("1 new, 0 updated, 0 skipped")
    code, out, _ = cli("ask", "who", "warned", "ships?")
    assert code == 0 and out.startswith("> ")  # the quote, block-quoted, then its citation
    assert "coast guard to warn ships" in out and "\n  — North Korea fires" in out


def test_ask_json_shape(cli, sample_dir):
    cli("ingest", str(sample_dir))
    code, out, _ = cli("ask", "--json", "-k", "2", "who warned ships?")
    data = json.loads(out)
    assert code == 0 and data["question"] == "who warned ships?" and data["answered"] is True
    assert len(data["answers"]) == 2
    first = data["answers"][0]
    assert {"sentence", "quote", "score", "article"} <= set(first)
    assert "Japanese coast guard" in first["quote"] and "Defense Ministry" in first["quote"]


def test_ask_questions_file_answers_each_line_in_order(cli, tmp_path, sample_dir):
    cli("ingest", str(sample_dir))
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "who warned ships?"}\n{"question": "   "}\nnot json\n{"question": "who is Blinken?"}\n'
    )
    code, out, _ = cli("ask", "--json", "--questions", str(questions))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 4
    assert "coast guard" in lines[0]["answers"][0]["sentence"]
    assert "error" in lines[1] and "error" in lines[2] and lines[2]["answered"] is False
    assert lines[3]["question"] == "who is Blinken?" and lines[3]["answers"]


def test_reingest_is_idempotent(cli, sample_dir):
    cli("ingest", str(sample_dir))
    code, out, _ = cli("ingest", str(sample_dir))
    assert code == 0 and out.startswith("0 new, 0 updated, 1 skipped")


def test_a_big_ingest_splits_in_worker_processes_and_stores_every_sentence(cli, tmp_path, monkeypatch):
    import index.reading.presplit

    monkeypatch.setattr(index.reading.presplit, "PARALLEL_FROM", 20)
    started = []
    pool = index.reading.presplit.ProcessPoolExecutor
    monkeypatch.setattr(
        index.reading.presplit, "ProcessPoolExecutor", lambda *a, **k: started.append(a) or pool(*a, **k)
    )
    lines = [
        json.dumps(
            {"id": f"n{i}", "title": f"Ferry {i}", "text": f"Mr. Reed ran ferry {i}. It sank in {i} days."}
        )
        for i in range(40)
    ]
    (tmp_path / "many.jsonl").write_text("\n".join(lines))
    code, out, _ = cli("ingest", str(tmp_path / "many.jsonl"), "--json")
    assert code == 0 and json.loads(out)["new"] == 40 and started
    code, out, _ = cli("stats", "--json")
    assert json.loads(out)["sentences"] == 80


def test_ingest_of_nothing_usable_fails_with_a_message(cli, tmp_path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\x00\x00")
    code, _, err = cli("ingest", str(tmp_path / "missing.txt"), str(binary))
    assert code == 1
    assert "no such file" in err and "binary file" in err


def test_partly_bad_input_still_succeeds(cli, tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"id": "a1", "title": "Quay", "text": "The quay closed on Monday."}\n{broken\n')
    code, out, err = cli("ingest", str(jsonl))
    assert code == 0 and out.startswith("1 new")
    assert f"{jsonl}:2" in err


@pytest.mark.parametrize("question", ["", "x" * 1001])
def test_bad_question_is_an_error_not_a_traceback(cli, sample_dir, question):
    cli("ingest", str(sample_dir))
    code, _, err = cli("ask", question)
    assert code == 2 and err.startswith("newsbot: the question")


def test_search_and_stats_json(cli, sample_dir):
    cli("ingest", str(sample_dir))
    code, out, _ = cli("search", "--json", "coast guard")
    assert code == 0 and json.loads(out)["results"][0]["passage"]
    code, out, _ = cli("stats", "--json")
    stats = json.loads(out)
    assert code == 0 and stats["articles"] == 1 and stats["index"]["model"]


def test_embedder_fixture_is_the_bundled_model(model):
    assert isinstance(model, SentenceTransformerEmbedder) and model.dim == 384


def test_eval_command_reports_scores_and_writes_misses(cli, tmp_path):
    from tests.conftest import FIXTURES

    cli("ingest", str(FIXTURES / "quality" / "articles.jsonl"))
    misses = tmp_path / "misses.jsonl"
    questions = FIXTURES / "quality" / "questions.jsonl"
    code, out, _ = cli("eval", str(questions), "--json", "--misses", str(misses))
    report = json.loads(out)
    assert code == 0
    assert (report["questions"], report["answerable"], report["unanswerable"]) == (4, 3, 1)
    assert {"hit@1", "hit@3", "mrr@10", "refused_answerable", "refused_unanswerable", "latency_ms"} <= set(
        report
    )
    assert report["misses"]["file"] == str(misses) and misses.exists()
    code, out, _ = cli("eval", str(questions), "--limit", "2")
    assert code == 0 and "hit@1" in out and "questions              2" in out
    again = tmp_path / "again.jsonl"
    again.write_text(questions.read_text())
    code, out, _ = cli("eval", str(questions), str(again), "--json", "--misses", str(misses))
    report = json.loads(out)
    assert code == 0 and report["questions"] == 8 and set(report["by_file"]) == {str(questions), str(again)}
    assert report["by_file"][str(again)]["hit@1"] == report["by_file"][str(questions)]["hit@1"]


def test_eval_measures_one_half_of_the_articles_file(cli):
    from tests.conftest import FIXTURES

    articles, questions = FIXTURES / "quality" / "articles.jsonl", FIXTURES / "quality" / "questions.jsonl"
    cli("ingest", str(articles))
    for half, count in (("even", 2), ("odd", 1)):  # choir and ferry stories at lines 2 and 0, bridge at 1
        code, out, _ = cli(
            "eval", str(questions), "--json", "--articles", half, "--articles-file", str(articles)
        )
        assert code == 0 and json.loads(out)["questions"] == count
    code, _, err = cli("eval", str(questions), "--articles", "odd")
    assert code == 1 and "--articles-file" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2024/03/01"], "--since must be a date"),
        (["--since", "2024-03-02", "--until", "2024-03-01"], "--since (2024-03-02) is after --until"),
    ],
)
def test_bad_date_filters_are_errors_not_silent_string_compares(cli, args, message):
    code, _, err = cli("ask", *args, "who warned ships?")
    assert code == 2 and message in err


@pytest.fixture
def bare_cli(tmp_path, monkeypatch, capsys):
    """Run `newsbot ARGS` with the hash embedder and no reranker: no model, for argument handling."""
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("NEWSBOT_MODEL", "hash")
    monkeypatch.setenv("NEWSBOT_RERANK", "false")

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exited:  # argparse's usage errors
            code = exited.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize("command", ["ask", "search"])
@pytest.mark.parametrize("k", ["0", "51", "100000", "-1", "two"])
def test_k_out_of_range_is_a_usage_error(bare_cli, tmp_path, command, k):
    code, _, err = bare_cli(command, "-k", k, "--data-dir", str(tmp_path / "data"), "who warned ships?")
    assert code == 2 and f"argument -k: must be a whole number from 1 to 50, not '{k}'" in err


@pytest.mark.parametrize("command", [["ask", "who warned ships?"], ["search", "ships"], ["eval", "q.jsonl"]])
def test_questions_to_an_empty_data_dir_say_how_to_ingest_and_create_nothing(bare_cli, tmp_path, command):
    (tmp_path / "q.jsonl").write_text('{"question": "who warned ships?", "answers": ["coast guard"]}\n')
    typo = tmp_path / "dta"
    code, out, err = bare_cli(*command, "--data-dir", str(typo))
    assert (code, out) == (1, "")
    assert err.startswith(
        f"newsbot: nothing has been ingested into {typo}: add articles with `newsbot ingest"
    )
    assert not typo.exists()
    bare_cli("feeds", "list", "--data-dir", str(typo))  # a data dir that exists, but holds no articles
    assert bare_cli(*command, "--data-dir", str(typo))[2] == err


@pytest.mark.parametrize("command", [["ask", "who?"], ["ingest", "x.txt"], ["stats"]])
def test_a_data_dir_that_is_a_file_is_a_clear_error(bare_cli, tmp_path, command):
    (tmp_path / "notes.txt").write_text("not a folder")
    code, _, err = bare_cli(*command, "--data-dir", str(tmp_path / "notes.txt"))
    assert code == 1 and "notes.txt is a file, not a folder: point --data-dir" in err
    assert "Traceback" not in err


def test_ask_with_k_in_range_after_an_ingest(bare_cli, tmp_path, sample_dir):
    data = str(tmp_path / "data")
    assert bare_cli("ingest", str(sample_dir), "--data-dir", data)[0] == 0
    code, out, _ = bare_cli("ask", "--json", "-k", "1", "--data-dir", data, "who warned ships?")
    assert code == 0 and len(json.loads(out)["answers"]) == 1


def test_help_loads_none_of_the_engine():
    import subprocess
    import sys

    code = (
        "import sys, bot.cli\n"
        "try:\n    bot.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('index.engine', 'faiss', 'torch', 'numpy', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_guild_scoping_and_forget(cli, tmp_path, sample_dir):
    cli("ingest", str(sample_dir))  # shared news
    own = tmp_path / "own.jsonl"
    own.write_text(
        json.dumps(
            {"id": "quay", "title": "Quay closes", "text": "The old quay closes on Monday for repairs."}
        )
        + "\n"
    )
    code, out, _ = cli("ingest", "--guild", "42", str(own))
    assert code == 0 and out.startswith("1 new")

    def quoted(*guild: str) -> dict[str, str]:
        _, out, _ = cli("ask", "--json", *guild, "when does the quay close?")
        return {a["article"]["id"]: a["article"]["scope"] for a in json.loads(out)["answers"]}

    assert (
        quoted("--guild", "42")["quay"] == "42"
        and "quay" not in quoted()
        and "quay" not in quoted("--guild", "7")
    )
    assert set(quoted("--guild", "42").values()) <= {"42", "shared"}
    _, out, _ = cli("search", "--json", "--guild", "42", "quay")
    assert json.loads(out)["results"][0]["article"]["id"] == "quay"
    _, out, _ = cli("stats", "--json", "--guild", "42")
    assert (json.loads(out)["articles"], json.loads(out)["scope"]) == (2, "42")
    _, out, _ = cli("stats", "--json")
    assert json.loads(out)["articles"] == 1

    code, _, err = cli("forget", "quay")  # not shared news: nothing to forget there
    assert code == 1 and err == (
        "newsbot: no article in shared news has the id or URL 'quay': "
        "check it (ids are shown when articles are added, and by `newsbot ask --json`)\n"
    )
    code, out, _ = cli("forget", "--guild", "42", "quay")
    assert code == 0 and out.strip() == "forgot 'Quay closes'"
    assert "quay" not in quoted("--guild", "42")


def test_feeds_take_a_guild(cli, capsys):
    cli("feeds", "add", "--guild", "42", "https://news.example/rss")
    _, out, _ = cli("feeds", "list", "--json")
    assert json.loads(out) == []
    _, out, _ = cli("feeds", "list", "--json", "--guild", "42")
    assert [(f["url"], f["scope"]) for f in json.loads(out)] == [("https://news.example/rss", "42")]
    assert cli("feeds", "remove", "https://news.example/rss")[0] == 1
    assert cli("feeds", "remove", "--guild", "42", "https://news.example/rss")[0] == 0
    with pytest.raises(SystemExit):
        cli("ask", "--guild", "abc", "x")
    assert "must be a Discord server id (digits only), not 'abc'" in capsys.readouterr().err


def test_ask_json_carries_the_link_newer_coverage_corroboration_and_differing_figures(cli):
    from pathlib import Path

    time_story = Path(__file__).resolve().parents[1] / "fixtures" / "time" / "articles.jsonl"
    assert cli("ingest", str(time_story))[0] == 0
    code, out, _ = cli("ask", "--json", "what pay offer did the crews reject?")
    first = json.loads(out)["answers"][0]
    assert code == 0 and first["article"]["id"] == "t-strike-called"
    assert first["link"].startswith("https://gazette.example/ferry-strike-announced#:~:text=Crews%20at%20")
    assert first["newer"] == [
        {"title": "Northway ferry strike called off after new pay deal",
         "url": "https://gazette.example/ferry-strike-off", "published": "2024-05-10T18:30:00+00:00"},
        {"title": "Talks to avert Northway ferry strike", "url": "https://coasttimes.example/ferry-talks",
         "published": "2024-05-08"},
    ]  # fmt: skip
    assert first["reported_by"] is None
    latest = json.loads(cli("ask", "--json", "is the ferry strike over?")[1])["answers"][0]
    assert latest["article"]["id"] == "t-strike-off" and latest["newer"] == []
    assert latest["reported_by"] == {"outlets": 2, "first": "2024-05-10T18:30:00+00:00"}
    figures = json.loads(cli("ask", "--json", "how many crew will join the strike?")[1])["differing"]
    assert sorted(f["figure"] for f in figures) == ["300", "350"]
    code, out, _ = cli("ask", "is the ferry strike over?")  # the text answer shows its article's date
    assert code == 0 and "· Harbour Gazette · 2024-05-10 · https://gazette.example/ferry-strike-off" in out


def test_a_poll_of_no_feeds_says_so_in_one_line(bare_cli, tmp_path):
    code, out, _ = bare_cli("feeds", "poll", "--data-dir", str(tmp_path / "data"))
    assert (code, out) == (0, "0 feeds polled, 0 new items, 0 failed, 0 skipped while backing off\n")


def test_serve_runs_the_shard_range_of_its_flags_over_the_settings(bare_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", "5")
    monkeypatch.setenv("NEWSBOT_SHARD_COUNT", "8")
    started = []
    monkeypatch.setattr("bot.app.run", started.append)
    data = str(tmp_path / "data")
    assert bare_cli("serve", "--shard-ids", "0,1", "--shard-count", "4", "--data-dir", data)[0] == 0
    assert bare_cli("serve", "--data-dir", data)[0] == 0
    assert bare_cli("serve", "--shard-count", "16", "--data-dir", data)[0] == 0
    assert [(s.shard_ids, s.shard_count) for s in started] == [([0, 1], 4), ([5], 8), ([5], 16)]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--shard-ids", "0,1"], "newsbot: shard ids 0,1 need the total number of shards, the same in every "
         "process: set NEWSBOT_SHARD_COUNT or pass --shard-count\n"),
        (["--shard-ids", "1,4", "--shard-count", "4"], "newsbot: shard ids 4 are not among the 4 shards (ids "
         "run from 0 to 3): fix NEWSBOT_SHARD_IDS / --shard-ids or raise the shard count\n"),
        (["--shard-ids", "1,0,1", "--shard-count", "2"],
         "newsbot: shard ids 1 are given twice: name each shard once\n"),
    ],
)  # fmt: skip
def test_a_shard_range_that_cannot_run_says_what_to_change(bare_cli, tmp_path, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    monkeypatch.delenv("NEWSBOT_SHARD_COUNT", raising=False)
    monkeypatch.setattr("bot.app.create_bot", pytest.fail)  # refused before anything connects
    assert bare_cli("serve", *flags, "--data-dir", str(tmp_path / "data")) == (1, "", message)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--shard-ids", "0;1"], "argument --shard-ids: must be shard numbers separated by commas, e.g. 0,1, "
         "not '0;1'"),
        (["--shard-ids", "-1"], "argument --shard-ids: must be shard numbers"),
        (["--shard-count", "0"], "argument --shard-count: must be a whole number of at least 1, not '0'"),
    ],
)  # fmt: skip
def test_a_malformed_shard_flag_is_a_usage_error(bare_cli, tmp_path, flags, message):
    code, _, err = bare_cli("serve", *flags, "--data-dir", str(tmp_path / "data"))
    assert code == 2 and message in err
