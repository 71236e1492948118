"""The embeds and replies the commands send, built from plain engine results (no Discord connection)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from discord import app_commands
from fakediscord import RecordedRequest
from harness import assert_discord_rules

from bot.dates import check_range, parse_day
from bot.errors import UserError, user_message
from bot.exts.admin._render import feeds_message, ingest_message
from bot.exts.admin._uploads import as_uploaded, check_upload, saved_name
from bot.exts.ask._render import HIGH_MARGIN, answer_embed, confidence, context_embed
from bot.exts.coverage._render import coverage_embed
from bot.exts.mention._question import question_in
from bot.exts.search._render import search_embed
from bot.outlets import OutletList
from bot.text import URL_LIMIT
from index.core.models import ArticleRef, Differing, InputProblem, Outlet, Reported
from index.engine import SearchHit
from index.news.links import LINK_LIMIT, deep_link
from index.reading.feeds import Feed
from index.reading.ingest import IngestReport
from index.search.answer import Answer, AskResult

ARTICLE = ArticleRef("a1", "Ferry fares rise", "Harbour Herald", "https://herald.example/ferry", "2024-03-01")


def answer(score: float = 1.5, sentence: str = "The ferry will cost more.", **changes: object) -> Answer:
    fields: dict = {
        "sentence": sentence,
        "quote": f"The council met on Monday. {sentence}",
        "score": score,
        "article": ARTICLE,
        "context": f"Before that. The council met on Monday. {sentence} After that.",
        "also_reported_by": [],
    }
    return Answer(**(fields | changes))


def as_request(embed: object) -> RecordedRequest:
    """An embed as the body of a message, for the same checks every test's traffic gets."""
    body = {"embeds": [embed.to_dict()], "allowed_mentions": {"parse": []}}  # type: ignore[attr-defined]
    return RecordedRequest("POST", "/channels/1/messages", {}, body, [], 0.0, status=200)


@pytest.mark.parametrize(
    ("value", "threshold", "label"),
    [(-1.0, -0.3, "low"), (-0.31, -0.3, "low"), (-0.3, -0.3, "medium"), (HIGH_MARGIN - 0.31, -0.3, "medium"),
     (HIGH_MARGIN - 0.3, -0.3, "high"), (0.9, 0.9, "medium"), (0.9 + HIGH_MARGIN, 0.9, "high")],
)  # fmt: skip
def test_confidence_is_relative_to_the_refusal_threshold(value: float, threshold: float, label: str) -> None:
    assert confidence(value, threshold) == label


def test_an_answer_pages_its_quotes() -> None:
    result = AskResult(
        "how much is the ferry?", True, [answer(1.6), answer(1.2), answer(1.0)], confidence=1.0
    )
    first = answer_embed(result, 0, 1.0 - HIGH_MARGIN)
    assert first.title == "how much is the ferry?"
    assert first.description.count("> The council met on Monday. **The ferry will cost more.**") == 2
    assert (
        "— [Ferry fares rise](https://herald.example/ferry) · Harbour Herald · 2024-03-01"
        in first.description
    )
    assert first.footer.text == "confidence: high · quotes 1–2 of 3"
    # confidence is the best quote's: later pages do not show it
    assert answer_embed(result, 1, 1.0 - HIGH_MARGIN).footer.text == "quotes 3–3 of 3"
    assert answer_embed(result, 0, 1.0 - HIGH_MARGIN / 2).footer.text.startswith("confidence: medium ·")


def test_wire_copies_are_named() -> None:
    copies = [Outlet("Coast Times", "https://times.example/ferry"), Outlet(None, None)]
    embed = answer_embed(AskResult("q", True, [answer(also_reported_by=copies)]), 0, 0.9)
    assert "Also reported by [Coast Times](https://times.example/ferry), another outlet" in embed.description


NEWER = ArticleRef("a2", "Ferry fares cut", "Coast Times", "https://times.example/cut", "2024-03-09T10:00:00")


def test_the_citation_links_to_the_quoted_sentence_and_shows_the_date() -> None:
    link = deep_link(ARTICLE.url, "The council met on Monday. The ferry will cost more.")
    embed = answer_embed(AskResult("q", True, [answer(link=link)]), 0, 0.9)
    assert LINK_LIMIT <= URL_LIMIT  # every deep link is short enough to be linked
    assert (
        "— [Ferry fares rise](https://herald.example/ferry#:~:text=The%20council%20met%20on,"
        "ferry%20will%20cost%20more.) · Harbour Herald · 2024-03-01" in embed.description
    )
    undated = answer(article=ArticleRef("a3", "Old news", "Gazette", None, None))
    assert (
        "— Old news · Gazette · undated" in answer_embed(AskResult("q", True, [undated]), 0, 0.9).description
    )


def test_newer_coverage_of_the_story_is_pointed_to() -> None:
    older = NEWER.__class__("a4", "Ferry talks", "Coast Times", None, "2024-03-05")
    embed = answer_embed(AskResult("q", True, [answer(newer=[NEWER, older])]), 0, 0.9)
    assert "\nNewer coverage: [Ferry fares cut](https://times.example/cut), 2024-03-09 and 1 more" in (
        embed.description
    )
    assert "Newer coverage" not in answer_embed(AskResult("q", True, [answer()]), 0, 0.9).description


def test_a_story_carried_by_several_outlets_says_how_many_and_since_when() -> None:
    copies = [Outlet("Coast Times", "https://times.example/ferry")]
    carried = answer(also_reported_by=copies, reported_by=Reported(2, "2024-02-28T22:00:00+00:00"))
    embed = answer_embed(AskResult("q", True, [carried]), 0, 0.9)
    assert (
        "\nReported by 2 outlets, first on 2024-02-28 · Also reported by [Coast Times](https://times.example/ferry)"
        in embed.description
    )


def test_differing_figures_are_shown_side_by_side_on_the_first_page() -> None:
    other = ArticleRef("a5", "Fares *up*", "Coast @everyone", None, "2024-03-02")
    result = AskResult(
        "how much will the ferry cost?",
        True,
        [answer(sentence="It will cost £4."), answer(), answer(sentence="It will cost £5.", article=other)],
        differing=[Differing("£4", 0, ARTICLE), Differing("£5", 2, other)],
    )
    first = answer_embed(result, 0, 0.9)
    assert (
        "\n\nSources differ: **£4** (Harbour Herald, 2024-03-01) vs "
        "**£5** (Coast @\u200beveryone, 2024-03-02)" in first.description
    )
    assert "Sources differ" not in answer_embed(result, 1, 0.9).description
    assert_discord_rules([as_request(first)])


def test_a_refusal_says_so_and_points_to_search() -> None:
    closest = answer_embed(AskResult("who won the cup?", False, [answer(0.3)], confidence=-0.7), 0, -0.3)
    assert closest.description.startswith(
        "The news I have doesn't say. The closest passages are not confident"
    )
    assert closest.description.endswith("with query: who won the cup?")
    assert closest.footer.text.startswith("confidence: low")
    nothing = answer_embed(AskResult("who won the *cup*?", False, []), 0, 0.9)
    assert nothing.description.startswith("The news I have doesn't say. Nothing I have indexed matches")
    assert nothing.description.endswith("with query: who won the \\*cup\\*?") and nothing.footer.text is None


def test_context_shows_the_passage_around_each_quote() -> None:
    embed = context_embed(AskResult("q", True, [answer()]), 0)
    assert embed.description.startswith(
        "> Before that. The council met on Monday. **The ferry will cost more.** After"
    )


def test_huge_answers_stay_within_discord_limits() -> None:
    endless = "word " * 2000 + "."
    huge = answer(
        sentence=endless,
        quote=("Lead sentence. " * 300) + endless,
        context="x. " * 2000 + endless + " z." * 2000,
        article=ArticleRef("a", "T" * 2000, "S" * 500, "https://x.example/" + "u" * 400, "2024-01-01"),
        also_reported_by=[Outlet("O" * 300, "https://o.example/" + "p" * 500)] * 30,
        link=deep_link("https://x.example/" + "u" * 400, endless),
        newer=[ArticleRef("n", "N" * 2000, "S", "https://n.example/" + "n" * 490, "2024-02-01")] * 9,
        reported_by=Reported(31, "2023-12-31"),
    )
    figures = [Differing("£" + "9" * 300, n, huge.article) for n in range(3)]
    result = AskResult("q" * 3000, True, [huge] * 5, differing=figures)
    embeds = [answer_embed(result, page, 0.9) for page in range(3)] + [context_embed(result, 0)]
    hits = [SearchHit(huge.article, 2.0, endless, "y. " * 1000 + endless + " z." * 1000)] * 15
    embeds += [search_embed("q" * 500, hits, page) for page in range(5)]
    assert_discord_rules([as_request(embed) for embed in embeds])
    assert all("**" in (e.description or e.fields[0].value) for e in embeds)


def test_search_embed_lists_hits_as_fields() -> None:
    hits = [
        SearchHit(ARTICLE, 1.0, "The ferry will cost more.", "Fares. The ferry will cost more. Soon.")
    ] * 4
    page = search_embed("ferry", hits, 1)
    assert page.title == "Search: ferry" and page.footer.text == "page 2 of 2 · 4 articles"
    assert [f.name for f in page.fields] == ["4. Ferry fares rise"]
    source = "— [Harbour Herald](https://herald.example/ferry) · 2024-03-01"
    assert page.fields[0].value == "> Fares. **The ferry will cost more.** Soon.\n" + source
    assert search_embed("nothing", [], 0).description.startswith("No articles match")


def test_coverage_embed() -> None:
    stats = {
        "articles": 1234,
        "sentences": 56789,
        "outlets": [{"source": f"Outlet {n}", "articles": 100 - n} for n in range(12)],
        "published": {"first": "2024-01-01T00:00:00", "last": "2024-03-31"},
        "last_ingest": "2024-04-01T10:00:00+00:00",
    }
    fields = {f.name: f.value for f in coverage_embed(stats).fields}
    assert fields["Articles"] == "1,234" and fields["Outlets"] == "12"
    assert fields["Published"] == "2024-01-01 to 2024-03-31"
    assert fields["Last ingest"] == "<t:1711965600:f> (<t:1711965600:R>)"
    assert fields["Most articles from"].startswith("Outlet 0 (100)\n") and fields[
        "Most articles from"
    ].endswith("… and 2 more")
    empty = stats | {"outlets": [], "published": {"first": None, "last": None}, "last_ingest": None}
    fields = {f.name: f.value for f in coverage_embed(empty).fields}
    assert fields["Published"] == "no dated articles" and fields["Last ingest"] == "never"


def test_ingest_and_feed_messages() -> None:
    report = IngestReport(
        new=1,
        sentences=3,
        problems=[InputProblem("x.jsonl:2", "not JSON: *bad*")],
        titles=["Ferry @everyone"],
        article_ids=["ferry-1"],
    )
    message = ingest_message(report)
    assert message.startswith("Added: 1 new, 0 updated, 0 skipped articles")
    assert "\n• Ferry @\u200beveryone (id: ferry-1)\nProblems:\n• x.jsonl:2: not JSON: \\*bad\\*" in message
    assert ingest_message(IngestReport(skipped=1)).startswith("Nothing added: 0 new, 0 updated, 1 skipped")
    titles = [f"Title {n} " + "t" * 100 for n in range(500)]
    many = ingest_message(IngestReport(new=500, titles=titles, article_ids=[f"id-{n}" for n in range(500)]))
    assert len(many) <= 2000 and many.endswith("more")

    now = datetime(2024, 3, 1, tzinfo=UTC)
    feeds = [
        Feed("https://a.example/rss", "A", now, last_polled_at=now, last_ok_at=now, items_stored=1),
        Feed(
            "https://b.example/rss",
            None,
            now,
            last_polled_at=now,
            last_error="HTTP 500",
            consecutive_failures=3,
            items_stored=1200,
            items_failing=2,
            item_error="HTTP 503 from https://b.example/x; trying again at the next poll",
        ),
    ]
    text = feeds_message(feeds)
    assert text.startswith(
        "I follow 2 feeds:\n• <https://a.example/rss> (A): ok; last poll <t:1709251200:R>; 1 item stored\n"
    )
    assert (
        "• <https://b.example/rss>: failing ×3: HTTP 500; last poll <t:1709251200:R>, last good poll never; "
        "1,200 items stored, 2 failing (e.g. HTTP 503 from https://b.example/x; "
        "trying again at the next poll)"
    ) in text
    assert feeds_message([]).startswith("I follow no feeds yet")


def test_uploads() -> None:
    check_upload("news.JSONL", 10, 100)
    with pytest.raises(UserError, match="not “.pdf”"):
        check_upload("news.pdf", 10, 100)
    with pytest.raises(UserError, match="the limit is"):
        check_upload("news.txt", 101, 100)
    assert saved_name("../../etc/.passwd") == "passwd" and saved_name("...") == "upload.txt"
    saved = Path("/tmp/newsbot-upload-x/news.txt")
    problems = as_uploaded([InputProblem(f"{saved}:3", f"cannot read {saved}")], saved, "news.txt")
    assert problems == [InputProblem("news.txt:3", "cannot read news.txt")]


def test_question_in_a_mention() -> None:
    assert question_in("<@42> who warned   ships?", {42}) == "who warned ships?"
    assert question_in("who warned ships, <@!42>?", {42}) == "who warned ships, ?"
    assert question_in("<@&7> <@42>", {42, 7}) == ""
    assert question_in("<@42> what did <@99> say?", {42}) == "what did <@99> say?"


def test_outlets_match_as_typed_and_resolve_to_their_spelling() -> None:
    outlets = OutletList(["Coast Times", "Bay Courier", "Harbour Herald", "X" * 101])
    assert outlets.matching("co") == ["Coast Times", "Bay Courier"]
    assert outlets.matching("") == ["Coast Times", "Bay Courier", "Harbour Herald"]  # too long for a choice
    assert len(OutletList([f"Outlet {n}" for n in range(40)]).matching("out")) == 25
    assert outlets.resolve(" coast TIMES ") == "Coast Times"
    with pytest.raises(UserError, match="I have no articles from “Nowhere”"):
        outlets.resolve("Nowhere")


@pytest.mark.parametrize("text", ["2024-02-30", "2024-2-1", "yesterday", "2024-03-01T10:00", ""])
def test_dates_must_be_real_year_month_days(text: str) -> None:
    with pytest.raises(UserError, match="`since` must be a date written year-month-day"):
        parse_day(text, "since")


def test_dates() -> None:
    assert parse_day(" 2024-02-29 ", "since") == "2024-02-29"
    check_range("2024-01-01", "2024-01-01")
    check_range(None, "2024-01-01")
    with pytest.raises(UserError, match="is after `until`"):
        check_range("2024-02-01", "2024-01-01")


def test_user_messages_for_expected_errors_and_none_for_bugs() -> None:
    cooldown = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30), 12.4)
    assert user_message(cooldown) == "Easy there: you can ask again in 12 s."
    assert "Manage Server" in (user_message(app_commands.MissingPermissions(["manage_guild"])) or "")
    assert user_message(app_commands.NoPrivateMessage()) == "That only works in a server."
    assert user_message(UserError("fix this")) == "fix this"
    assert user_message(RuntimeError("bug")) is None
