"""The engine's errors, apart from the engine so that front ends can catch them without loading it."""


class EngineError(Exception):
    """A problem the user can fix; the message says how."""


class OperatorError(EngineError):
    """A problem for the operator, not for whoever asked (another process writing to the data dir, a
    data dir embedded with another model). Its message names paths and processes: a front end that
    serves others logs it and tells them something generic."""


class NotFoundError(EngineError):
    """Nothing has the id or URL given. The message says what was looked for; each front end adds where
    its users find the right one (`newsbot ask --json`, /ingest's replies)."""


class FeedLimitError(EngineError):
    """A scope already follows as many feeds as it may (NEWSBOT_FEEDS_PER_SERVER for a server)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} feeds are followed already, the most allowed: stop following one first")
        self.count = count


class QuestionError(EngineError):
    """The question itself cannot be asked (empty, too long)."""
