"""Finding the question in a message that @mentions the bot."""

from __future__ import annotations

import re

HOW_TO_ASK = "Ask me a question after the mention, e.g. “@newsbot who warned ships?”, or use /ask."

# A user ``<@id>``/``<@!id>`` or role ``<@&id>`` mention, as it is written in a message's content.
_MENTION = re.compile(r"<@[!&]?(\d+)>")


def mentions(content: str, mention_ids: set[int]) -> bool:
    """Whether ``content`` itself mentions one of ``mention_ids``. Discord also lists a reply's author
    among its mentions (the reply ping), which is not the user writing to the bot."""
    return any(int(found) in mention_ids for found in _MENTION.findall(content))


def question_in(content: str, mention_ids: set[int]) -> str:
    """``content`` without its mentions of ``mention_ids`` (the bot's user and role)."""

    def is_bot(match: re.Match[str]) -> bool:
        return int(match.group(1)) in mention_ids

    without = _MENTION.sub(lambda m: "" if is_bot(m) else m.group(0), content)
    return " ".join(without.split())
