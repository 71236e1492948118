"""`newsbot watch add / list / remove / check`: watches on shared news, run in-process with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import test_cli

cli = test_cli.cli  # the fixture running `newsbot ARGS --data-dir TMP` with the session's models
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "watch"
NEW = {
    article["id"]: article
    for article in map(json.loads, (FIXTURES / "new.jsonl").read_text(encoding="utf-8").splitlines())
}


def articles(folder: Path, *ids: str) -> str:
    path = folder / f"{'-'.join(ids)}.jsonl"
    path.write_text("".join(json.dumps(NEW[i]) + "\n" for i in ids), encoding="utf-8")
    return str(path)


def test_watch_add_list_check_remove(cli, tmp_path: Path) -> None:
    assert cli("watch", "list") == (0, "No watches yet: `newsbot watch add QUERY`.\n", "")
    cli("ingest", str(FIXTURES / "old.jsonl"))
    code, out, _ = cli("watch", "add", "ferry", "strike")
    assert code == 0 and out == (
        "watching “ferry strike” (watch 1): `newsbot watch check` prints new articles on it\n"
    )
    cli("watch", "add", "harbour seals")
    assert cli("watch", "check")[1] == "0 of 2 watches matched new articles\n"

    cli("ingest", articles(tmp_path, "library", "strike_ends"))
    code, out, _ = cli("watch", "check")
    assert code == 0 and out.startswith("watch 1 “ferry strike”:\n> ")
    assert "returned to work on Friday" in out and "  — Ferry strike ends · Coast Times · 2024-03-09" in out
    assert out.endswith("\n1 of 2 watches matched new articles\n")
    assert cli("watch", "check")[1] == "0 of 2 watches matched new articles\n"  # each article once

    cli("watch", "add", "storm warnings")
    cli("watch", "add", "fish market")
    cli("ingest", "--guild", "5", articles(tmp_path, "fish"))  # a server's own: not shared news
    cli("ingest", articles(tmp_path, "storm"))
    code, out, _ = cli("watch", "check", "--json")
    (line,) = [json.loads(text) for text in out.splitlines()]
    assert (line["watch"], line["query"], line["answer"]["article"]["id"]) == (3, "storm warnings", "storm")

    code, out, _ = cli("watch", "list")
    day = out.split("since ")[1][:10]
    assert out.splitlines() == [
        f"1  “ferry strike”  since {day}",
        f"2  “harbour seals”  since {day}",
        f"3  “storm warnings”  since {day}",
        f"4  “fish market”  since {day}",
    ]
    listed = json.loads(cli("watch", "list", "--json")[1])
    assert (
        listed[0]["query"] == "ferry strike" and listed[0]["scope"] is None and listed[0]["channel"] is None
    )

    assert cli("watch", "remove", "1") == (0, "stopped watching “ferry strike”\n", "")
    code, _, err = cli("watch", "remove", "1")
    assert code == 1 and err == "newsbot: there is no watch 1; see `newsbot watch list`\n"
    assert [w["id"] for w in json.loads(cli("watch", "list", "--json")[1])] == [2, 3, 4]


def test_watch_add_refuses_an_empty_query(cli) -> None:
    code, _, err = cli("watch", "add", "  ")
    assert code == 1 and err.startswith("newsbot: say what to watch for")
