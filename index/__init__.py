"""newsbot's engine: reads, indexes and quotes news articles.

This is its front door: the names below are what front ends (`bot/`) may use, and they use nothing
else. The packages under it are layered so that imports only run down:

    features   trend, watch, feedback, saved_questions, evaluate   (built on the engine)
    processes  answering in worker processes, each with an engine of its own
    engine     Engine, the facade over parts, questions (QuestionPath), writes, holdings
    news       stories, recency, corroboration, figures, links, annotations
    search     query, cues, candidates, termstats, evidence, rerank, answer   (a question's stages)
    reading    readers, html, fetch, feeds/, clean, sentences, presplit, ingest
    storage    schema, interface (NewsStore), store, vectors, embed, locks, sqlite_config
    core       models, errors, settings, limits, dates

Names load on first use (PEP 562), so catching `EngineError` or reading `Settings` does not load
torch, FAISS or the model.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# name -> the module that defines it
_NAMES = {
    "ArticleIn": "index.core.models",
    "ArticleRef": "index.core.models",
    "Differing": "index.core.models",
    "InputProblem": "index.core.models",
    "Outlet": "index.core.models",
    "Reported": "index.core.models",
    "EngineError": "index.core.errors",
    "FeedLimitError": "index.core.errors",
    "NotFoundError": "index.core.errors",
    "OperatorError": "index.core.errors",
    "QuestionError": "index.core.errors",
    "MAX_TOP_K": "index.core.limits",
    "Settings": "index.core.settings",
    "SectionView": "index.core.settings",
    "Filters": "index.storage.store",
    "iso_day": "index.core.dates",
    "SUFFIXES": "index.reading.readers",
    "read_paths": "index.reading.readers",
    "Feed": "index.reading.feeds",
    "PollReport": "index.reading.feeds",
    "CHUNK_ARTICLES": "index.reading.ingest",
    "IngestReport": "index.reading.ingest",
    "PRESPLIT_WORKERS": "index.reading.presplit",
    "Answer": "index.search.answer",
    "AskResult": "index.search.answer",
    "Engine": "index.engine",
    "SearchHit": "index.engine",
    "is_url": "index.engine",
    "migrate_to_postgres": "index.engine.migration",
    "MigrationReport": "index.storage.postgres.migrate",
    "Answerer": "index.processes",
    "QuestionProcesses": "index.processes",
    "DOWN": "index.features.feedback",
    "UP": "index.features.feedback",
    "Feedback": "index.features.feedback",
    "SavedQuestion": "index.features.saved_questions",
    "save_question": "index.features.saved_questions",
    "saved_question": "index.features.saved_questions",
    "OTHER": "index.features.trend",
    "Trend": "index.features.trend",
    "trend_of": "index.features.trend",
    "Match": "index.features.watch",
    "Watch": "index.features.watch",
    "Watches": "index.features.watch",
}
# modules front ends use as a whole
_MODULES = {"evaluate": "index.features.evaluate"}
# names exported under another name than their module's
_RENAMED = {"PRESPLIT_WORKERS": "WORKERS"}

__all__ = [
    "Answer",
    "Answerer",
    "ArticleIn",
    "ArticleRef",
    "AskResult",
    "CHUNK_ARTICLES",
    "DOWN",
    "Differing",
    "Engine",
    "EngineError",
    "FeedLimitError",
    "Feed",
    "Feedback",
    "Filters",
    "IngestReport",
    "InputProblem",
    "MAX_TOP_K",
    "Match",
    "MigrationReport",
    "NotFoundError",
    "OTHER",
    "OperatorError",
    "Outlet",
    "PRESPLIT_WORKERS",
    "PollReport",
    "QuestionError",
    "QuestionProcesses",
    "Reported",
    "SUFFIXES",
    "SavedQuestion",
    "SearchHit",
    "SectionView",
    "Settings",
    "Trend",
    "UP",
    "Watch",
    "Watches",
    "evaluate",
    "is_url",
    "iso_day",
    "migrate_to_postgres",
    "read_paths",
    "save_question",
    "saved_question",
    "trend_of",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = import_module(_MODULES[name])
    elif name in _NAMES:
        value = getattr(import_module(_NAMES[name]), _RENAMED.get(name, name))
    else:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


if TYPE_CHECKING:
    from index.core.dates import iso_day
    from index.core.errors import EngineError, FeedLimitError, NotFoundError, OperatorError, QuestionError
    from index.core.limits import MAX_TOP_K
    from index.core.models import ArticleIn, ArticleRef, Differing, InputProblem, Outlet, Reported
    from index.core.settings import SectionView, Settings
    from index.engine import Engine, SearchHit, is_url
    from index.engine.migration import migrate_to_postgres
    from index.features import evaluate
    from index.features.feedback import DOWN, UP, Feedback
    from index.features.saved_questions import SavedQuestion, save_question, saved_question
    from index.features.trend import OTHER, Trend, trend_of
    from index.features.watch import Match, Watch, Watches
    from index.processes import Answerer, QuestionProcesses
    from index.reading.feeds import Feed, PollReport
    from index.reading.ingest import CHUNK_ARTICLES, IngestReport
    from index.reading.presplit import WORKERS as PRESPLIT_WORKERS
    from index.reading.readers import SUFFIXES, read_paths
    from index.search.answer import Answer, AskResult
    from index.storage.postgres.migrate import MigrationReport
    from index.storage.store import Filters
