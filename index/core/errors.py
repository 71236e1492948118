"""The engine's errors, apart from the engine so that front ends can catch them without loading it."""


class EngineError(Exception):
    """A problem the user can fix; the message says how."""


class OperatorError(EngineError):
    """A problem for the operator, not for whoever asked (another process writing to the data dir, a
    data dir embedded with another model). Its message names paths and processes: a front end that
    serves others logs it and tells them something generic."""


class QuestionError(EngineError):
    """The question itself cannot be asked (empty, too long)."""
