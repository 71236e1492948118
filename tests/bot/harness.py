"""Helpers for driving the bot through FakeDiscord and checking what it sent."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakediscord import FakeDiscord, FakeInteraction, FakeUser, RecordedRequest

from bot.app import NewsBot
from bot.text import (
    AUTHOR_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
)
from index import Engine

TOKEN = "MTIzNDU2Nzg5.fake-secret-token.do-not-log-me"


async def finished(bot: NewsBot, ix: FakeInteraction, timeout: float = 60.0) -> FakeInteraction:
    """Until the command's callback returned (its buttons, if any, are then live)."""
    async with asyncio.timeout(timeout):
        while ix.id not in bot.completed:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
    return ix


async def run_command(
    bot: NewsBot, fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kw: Any
) -> FakeInteraction:
    """``/name options`` as a user types it, once the bot has finished answering."""
    return await finished(bot, await fake.slash_command(name, options, **kw))


async def ephemeral_reply(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """The text of an immediate private answer (a refusal or an error)."""
    await fake.wait_until(lambda: ix.callbacks)
    callback = ix.callbacks[0]
    assert callback["type"] == 4 and callback["data"]["flags"] == 64, callback
    return callback["data"]["content"]


def final_message(fake: FakeDiscord, ix: FakeInteraction) -> dict[str, Any]:
    assert ix.original_id is not None
    return fake.get_message(ix.original_id)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A message's buttons by label (their custom ids carry the buttons' state)."""
    return {c["label"]: c for row in message.get("components") or [] for c in row["components"]}


async def press(
    fake: FakeDiscord, message: dict[str, Any], label: str, user: FakeUser | None = None
) -> FakeInteraction:
    """A click on the button labelled ``label``, as its message now shows it."""
    return await fake.component_click(
        message, buttons(fake.get_message(int(message["id"])))[label]["custom_id"], user=user
    )


def embed_text(embed: dict[str, Any]) -> str:
    parts = [
        embed.get("title") or "",
        embed.get("description") or "",
        (embed.get("footer") or {}).get("text", ""),
    ]
    parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def message_bodies(request: RecordedRequest) -> list[dict[str, Any]]:
    """The message payloads in a request: a send or edit body, or an interaction callback's data."""
    body = request.json
    if not isinstance(body, dict):
        return []
    if request.path.endswith("/callback"):
        body = body.get("data") or {}
    return [body] if {"content", "embeds", "components"} & body.keys() else []


def assert_discord_rules(requests: list[RecordedRequest]) -> None:
    """Every outgoing message: accepted, within Discord's limits, pinging no one."""
    for request in requests:
        assert request.status < 400, (request.method, request.path, request.status, request.response)
        for body in message_bodies(request):
            where = f"{request.method} {request.path}: {json.dumps(body)[:300]}"
            allowed = body.get("allowed_mentions") or {}
            assert allowed.get("parse") == [] and not allowed.get("replied_user"), where
            assert not allowed.get("users") and not allowed.get("roles"), where
            assert len(body.get("content") or "") <= CONTENT_LIMIT, where
            total = 0
            for embed in body.get("embeds") or []:
                fields = embed.get("fields") or []
                texts = [
                    (embed.get("title") or "", TITLE_LIMIT),
                    (embed.get("description") or "", DESCRIPTION_LIMIT),
                    ((embed.get("footer") or {}).get("text") or "", FOOTER_LIMIT),
                    ((embed.get("author") or {}).get("name") or "", AUTHOR_LIMIT),
                ]
                texts += [(f["name"], FIELD_NAME_LIMIT) for f in fields]
                texts += [(f["value"], FIELD_VALUE_LIMIT) for f in fields]
                assert len(fields) <= FIELD_COUNT_LIMIT, where
                for text, limit in texts:
                    assert len(text) <= limit, where
                total += sum(len(text) for text, _ in texts)
            assert total <= EMBED_TOTAL_LIMIT, where


HARBOUR_STORIES = [
    (
        "Harbour Herald",
        "2024-03-01",
        "Ferry fares rise",
        "The harbour ferry will cost more from April, the council said.",
    ),
    (
        "Harbour Herald",
        "2024-03-02",
        "Night ferry returns",
        "A night ferry across the harbour returns after two years.",
    ),
    (
        "Coast Times",
        "2024-03-03",
        "Harbour dredging starts",
        "Dredgers began deepening the harbour channel on Monday.",
    ),
    (
        "Coast Times",
        "2024-03-04",
        "Ferry crew strike",
        "Ferry crews in the harbour walked out over pay on Tuesday.",
    ),
    (
        "Coast Times",
        "2024-03-05",
        "New pier opens",
        "A new pier for ferries opened at the east end of the harbour.",
    ),
    (
        "Bay Courier",
        "2024-03-06",
        "Harbour seals counted",
        "Volunteers counted forty seals in the outer harbour.",
    ),
    (
        "Bay Courier",
        "2024-03-07",
        "Ferry timetable changes",
        "The summer ferry timetable adds two harbour crossings.",
    ),
    (
        "Bay Courier",
        "2024-03-08",
        "Harbour lights fixed",
        "Engineers repaired the harbour lights after the storm.",
    ),
]


def write_harbour_stories(folder: Path) -> Path:
    """Eight short articles from three outlets, as a JSON Lines file."""
    path = folder / "harbour.jsonl"
    lines = [
        json.dumps({"id": f"h{n}", "title": title, "text": text, "source": source, "published": day})
        for n, (source, day, title, text) in enumerate(HARBOUR_STORIES)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class HeldIngest:
    """`Engine.ingest` held at its start: each call counts in ``writing``, then waits for ``released``."""

    released: threading.Event = field(default_factory=threading.Event)
    writing: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))


def hold_ingest(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> HeldIngest:
    """Hold every ingest of ``engine`` (as a big one would take its time) until the test releases it."""
    held, real_ingest = HeldIngest(), engine.ingest

    def held_ingest(*args: Any, **kwargs: Any) -> Any:
        held.writing.release()
        held.released.wait(timeout=60)
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(engine, "ingest", held_ingest)
    return held
