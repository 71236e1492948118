"""A chat message's text as the question "Find sources" asks."""

from __future__ import annotations

from bot.errors import UserError
from bot.text import one_line

NO_TEXT = "That message has no text to find sources for; pick one with words in it, or use /ask."


def question_of(text: str, limit: int) -> str:
    """The message's text on one line; a `UserError` when it is empty or longer than a question may be
    (the user cannot shorten someone else's message: they are told to ask about the part they mean)."""
    question = one_line(text)
    if not question:
        raise UserError(NO_TEXT)
    if len(question) > limit:
        raise UserError(
            f"That message is too long to look up ({len(question):,} characters; a question may have "
            f"{limit:,}): ask about the part you mean with /ask."
        )
    return question
