"""Engine settings, read from the environment and `.env` (prefix ``NEWSBOT_``).

One place for every knob so the CLI, the bot, the tests and the benchmarks configure the engine the
same way. The Discord front end extends this class with its own settings (see ``bot/settings.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "newsbot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="SQLite store and FAISS index.")

    # Embedding model: any sentence-transformers name or folder. Empty = the bundled all-MiniLM-L6-v2.
    model: str = ""
    device: str = "cpu"
    batch_size: int = Field(64, ge=1)

    # Passages: windows of consecutive sentences; what goes into FAISS.
    passage_sentences: int = Field(3, ge=1)
    passage_stride: int = Field(2, ge=1)

    # Retrieval knobs.
    top_k: int = Field(5, ge=1, le=50, description="Answers returned by default.")
    dense_candidates: int = Field(60, ge=1, description="Passages taken from FAISS per question.")
    bm25_candidates: int = Field(60, ge=1, description="Sentences taken from FTS5 (BM25) per question.")
    max_stories: int = Field(10, ge=1, description="Stories whose every sentence is scored.")
    passage_title_weight: float = Field(0.5, description="Pull of the title on passage vectors.")
    context_title_weight: float = Field(0.3, description="Pull of the title on sentence-in-context vectors.")
    # Fit by bench/tune.py on news-dev and every 10th reqa-squad question (see README, "Answer quality").
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "sent": 0.848,
            "topic": -0.304,
            "ctx": 0.887,
            "title": 0.307,
            "story_bm25": 0.288,
            "story_dense": -0.089,
            "answer_type": 0.398,
            "amount": 0.348,
            "head": 0.101,
            "lead": -0.329,
            "early": 0.172,
            "local_overlap": 0.55,
            "ctx_overlap": 0.46,
            "story_overlap": 0.018,
            "story_missing": -0.023,
        },
        description="Weight of each evidence feature in a sentence's score (JSON in the environment).",
    )
    refusal_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "sent": 1.0,
            "ctx_overlap": 1.0,
            "story_missing": -0.05,
            "number_missing": -0.5,
        },
        description="Weights of the best quote's features in the confidence that it answers at all.",
    )
    min_answer_score: float = Field(0.84, description="Below this confidence the engine refuses to answer.")
    copy_overlap: float = Field(
        0.8, gt=0, le=1, description="Share of sentences two outlets' texts must share to be one story."
    )
    duplicate_similarity: float = Field(0.95, description="Cosine at which two quotes count as one.")
    max_question_chars: int = Field(1000, ge=1)

    # Fetching (URLs, feeds).
    allow_private_urls: bool = False
    fetch_timeout: float = Field(15.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, gt=0)
    fetch_max_redirects: int = Field(5, ge=0)
    fetch_per_host: int = Field(2, ge=1)
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot/newsbot)"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "newsbot.db"

    @property
    def faiss_path(self) -> Path:
        return self.data_dir / "passages.faiss"
