"""Finding the question in a message that @mentions the bot."""

from __future__ import annotations

import re

HOW_TO_ASK = "Ask me a question after the mention, e.g. “@newsbot who warned ships?”, or use /ask."


def question_in(content: str, mention_ids: set[int]) -> str:
    """``content`` without the mentions of the bot (as a user ``<@id>``/``<@!id>`` or role ``<@&id>``)."""

    def is_bot(match: re.Match[str]) -> bool:
        return int(match.group(1)) in mention_ids

    without = re.sub(r"<@[!&]?(\d+)>", lambda m: "" if is_bot(m) else m.group(0), content)
    return " ".join(without.split())
