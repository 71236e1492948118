"""`newsbot ask`'s plain answer: the quote and its citation, and, in Discord's words, the story's newer
coverage and the figures its sources differ on."""

from __future__ import annotations

from bot.cli.quotes import format_result
from index.core.models import ArticleRef, Differing
from index.search.answer import Answer, AskResult

FIRST = ArticleRef(
    "f1", "Twelve killed in mill fire", "Wessex Courier", "https://courier.example/fire", "2024-10-03"
)
TOLL = ArticleRef("f2", "Mill fire toll rises", "Marrick Echo", None, "2024-10-04T09:00:00+01:00")
LATER = ArticleRef("f3", "Mill to reopen", "Marrick Echo", "https://echo.example/reopen", "2024-10-20")


def answer(sentence: str, article: ArticleRef, newer: list[ArticleRef] | None = None) -> Answer:
    return Answer(sentence, sentence, 1.0, article, sentence, newer=newer or [])


def test_an_answer_names_its_storys_newer_coverage_under_its_citation() -> None:
    shown = format_result(AskResult("q", True, [answer("Twelve workers died.", FIRST, [LATER, TOLL])]))
    assert shown == (
        "> Twelve workers died.\n"
        "  — Twelve killed in mill fire · Wessex Courier · 2024-10-03 · https://courier.example/fire\n"
        "  Newer coverage: Mill to reopen (https://echo.example/reopen), 2024-10-20 and 1 more"
    )
    undated_newest = format_result(AskResult("q", True, [answer("Twelve workers died.", FIRST, [TOLL])]))
    assert undated_newest.endswith("\n  Newer coverage: Mill fire toll rises, 2024-10-04")  # no URL to give


def test_figures_the_sources_differ_on_are_shown_with_who_states_them_and_when() -> None:
    answers = [answer("The toll has risen to 15 workers.", TOLL), answer("Twelve workers died.", FIRST)]
    result = AskResult(
        "how many workers died?",
        True,
        answers,
        differing=[Differing("15", 0, TOLL), Differing("Twelve", 1, FIRST)],
    )
    assert format_result(result).endswith(
        "\n\nSources differ: 15 (Marrick Echo, 2024-10-04) vs Twelve (Wessex Courier, 2024-10-03)"
    )


def test_a_refusal_shows_neither() -> None:
    result = AskResult("q", False, [answer("Twelve workers died.", FIRST, [LATER])], differing=[])
    assert "Newer coverage" not in format_result(result)
