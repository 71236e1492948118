"""The engine's errors, apart from the engine so that front ends can catch them without loading it."""


class EngineError(Exception):
    """A problem the user can fix; the message says how."""


class QuestionError(EngineError):
    """The question itself cannot be asked (empty, too long)."""
