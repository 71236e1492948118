"""Engine settings, read from the environment and `.env` (prefix ``NEWSBOT_``).

One place for every knob so the CLI, the bot, the tests and the benchmarks configure the engine the
same way. The Discord front end extends this class with its own settings (see ``bot/settings.py``).

The settings come in sections, one model each (`StoreSettings`, `EmbeddingSettings`, ...), that say
what their knobs are for. `Settings` is all of them at once: each knob keeps its flat name, so
``NEWSBOT_TOP_K``, ``Settings(top_k=3)``, ``settings.top_k`` and ``model_copy(update={"top_k": 3})`` all
work as they always have, and a section is read whole as a view (``settings.retrieval.top_k``). A part
of the engine that needs one section may take it as its type: a `Settings` is an instance of every one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Generic, Literal, TypeVar, overload
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.core.errors import EngineError
from index.core.limits import MAX_TOP_K

VectorKind = Literal["auto", "flat", "ivf"]
RerankPrecision = Literal["auto", "float32", "bfloat16"]  # what the reranker multiplies in (search/rerank.py)
Section = TypeVar("Section", bound=BaseModel)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "newsbot"


class SectionView(Generic[Section]):
    """``settings.<section>``: one section's knobs as the settings hold them, to read (the values are
    shared with the settings, already checked, and not validated again)."""

    def __init__(self, section: type[Section]) -> None:
        self.section = section

    @overload
    def __get__(self, settings: None, owner: type | None = None) -> SectionView[Section]: ...
    @overload
    def __get__(self, settings: BaseModel, owner: type | None = None) -> Section: ...
    def __get__(
        self, settings: BaseModel | None, owner: type | None = None
    ) -> Section | SectionView[Section]:
        if settings is None:
            return self
        fields = self.section.model_fields
        return self.section.model_construct(**{name: getattr(settings, name) for name in fields})


class StoreSettings(BaseModel):
    """Where the data lives (the data dir; its tables in PostgreSQL when ``database_url`` is set), how
    soon a serving engine sees another process's writes, and how long saved questions are kept."""

    data_dir: Path = Field(default_factory=default_data_dir, description="SQLite store and FAISS index.")
    # repr=False: the URL may hold a password, and settings are printed in tracebacks and logs.
    database_url: str | None = Field(
        None,
        repr=False,
        description="PostgreSQL (postgresql://user:password@host/db) for the tables instead of the data "
        "dir's SQLite file; unset = SQLite.",
    )
    database_read_url: str | None = Field(
        None,
        repr=False,
        description="A read replica of NEWSBOT_DATABASE_URL's database (postgresql://...) that questions "
        "read from; writes stay on the primary. Unset = questions read the primary.",
    )
    refresh_seconds: float = Field(
        5.0, ge=0, description="How often a serving engine looks for another process's writes (ingests)."
    )
    # Discord keeps messages for ever; their buttons then say to ask again.
    saved_question_days: int = Field(
        90,
        ge=0,
        description="Days a question behind an answer's buttons is kept (index/features/saved_questions.py).",
    )

    def read_url(self) -> str | None:
        """``database_read_url`` once checked, None when unset. Checked here, not by pydantic, whose
        errors print the input (the password too) and which `model_copy` skips: an `EngineError`
        telling the operator what to set when it has no primary beside it or is not PostgreSQL's."""
        url = self.database_read_url
        if not url:
            return None
        if not self.database_url:
            raise EngineError(
                "NEWSBOT_DATABASE_READ_URL is set but NEWSBOT_DATABASE_URL is not: questions read from a "
                "replica of a PostgreSQL primary, which takes the writes; set NEWSBOT_DATABASE_URL to the "
                "primary, or unset NEWSBOT_DATABASE_READ_URL"
            )
        scheme = urlsplit(url).scheme if "://" in url else ""
        if scheme not in ("postgresql", "postgres"):
            given = f"a {scheme}:// URL" if scheme else "not a URL"
            raise EngineError(
                f"NEWSBOT_DATABASE_READ_URL is {given}: set it to postgresql://user:password@host/db, "
                "a read replica of NEWSBOT_DATABASE_URL's database, or unset it"
            )
        return url

    @property
    def db_path(self) -> Path:
        return self.data_dir / "newsbot.db"

    @property
    def faiss_path(self) -> Path:
        return self.data_dir / "passages.faiss"


class EmbeddingSettings(BaseModel):
    """The sentence embedding model, and the passages (windows of consecutive sentences) it embeds
    into FAISS. Changing any of them needs `newsbot reindex`."""

    # Any sentence-transformers name or folder. Empty = the bundled all-MiniLM-L6-v2.
    model: str = ""
    device: str = "cpu"
    batch_size: int = Field(64, ge=1)
    passage_sentences: int = Field(3, ge=1)
    passage_stride: int = Field(2, ge=1)


class VectorSettings(BaseModel):
    """The passage vector index (index/storage/vectors.py): exact below the threshold, IVF with 8-bit
    codes above."""

    vector_index: VectorKind = "auto"
    # Below it, exact search: <= 150 MB and ~30 ms a question on 2 busy cores.
    ann_threshold: int = Field(100_000, ge=1, description="Passages past which `auto` turns approximate.")


class RetrievalSettings(BaseModel):
    """The first stage: which passages and sentences a question reads, and how their evidence is weighed."""

    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="Answers returned by default.")
    dense_candidates: int = Field(60, ge=1, description="Passages taken from FAISS per question.")
    bm25_candidates: int = Field(60, ge=1, description="Sentences taken from FTS5 (BM25) per question.")
    # 20, not 10: the answering story is more often among them (what the reranker reads holds the
    # answer for 0.957 of news-dev, not 0.929), for ~16 ms more a question on BBC (docs/benchmarks.md).
    max_stories: int = Field(20, ge=1, description="Stories whose every sentence is scored.")
    # A term held by more than this share of all sentences adds cost but little evidence to a BM25 search.
    common_share: float = Field(
        0.05, gt=0, description="Share of all sentences past which a question's term is left out of BM25."
    )
    # FTS5 scores every sentence holding any OR'd term (~2 us each): the terms searched are the rarest
    # whose sentence counts add up to at most this many, so a question costs the same at 1M passages as
    # at 10k. 5,000 rather than 10,000 took 2-4 ms off a question at 1M passages (bench/scale.py), and
    # changed the terms of 1 of 885 news questions over BBC (news-dev, news-check, news-train), of none
    # of the 5,397 even-half reqa-squad ones, and no figure of news-dev or news-check.
    postings_budget: int = Field(
        5_000, ge=0, description="Sentences the BM25 search's terms may hold together (the rarest always)."
    )
    passage_title_weight: float = Field(0.5, description="Pull of the title on passage vectors.")
    context_title_weight: float = Field(0.3, description="Pull of the title on sentence-in-context vectors.")
    # Fit by bench/tune.py on the even half of reqa-squad (every 5th question) and the news questions
    # written for this project (bench/data); never on news-dev or the held-out half (docs/benchmarks.md).
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "sent": 0.082,
            "topic": 0.103,
            "ctx": 1.142,
            "title": 0.05,
            "story_bm25": 0.486,
            "story_dense": 0.546,
            "answer_type": 0.326,
            "amount": 0.423,
            "head": 0.087,
            "lead": -0.423,
            "early": -0.127,
            "local_overlap": 0.896,
            "ctx_overlap": 0.216,
            "story_overlap": 0.031,
            "story_missing": -0.011,
        },
        description="Weight of each evidence feature in a sentence's score (JSON in the environment).",
    )

    @field_validator("weights")
    @classmethod
    def _over_the_defaults(cls, weights: dict[str, float]) -> dict[str, float]:
        """NEWSBOT_WEIGHTS='{"ctx": 1.0}' changes the weights it names; the others keep their defaults
        rather than silently weighing 0 (give one 0 to turn it off)."""
        return {**cls.model_fields["weights"].get_default(call_default_factory=True), **weights}


class RerankSettings(BaseModel):
    """The second stage (index/search/rerank.py): a cross-encoder re-orders the first stage's best
    sentences."""

    rerank: bool = Field(True, description="Re-order the best candidates with the trained reranker.")
    reranker: str = Field("", description="Reranker folder; empty = the one shipped in models/reranker.")
    # Empty = what the reranker's folder says it was validated with (its reranker.json).
    rerank_candidates: int | None = Field(None, ge=1, le=100, description="First-stage sentences it reads.")
    rerank_first_weight: float | None = Field(
        None,
        ge=0,
        description="Weight of the first stage's z-score beside the reranker's in the final order.",
    )
    rerank_before_weight: float | None = Field(
        None,
        ge=0,
        description="Weight of a second reading of each candidate with the sentence before it (0: once).",
    )
    rerank_precision: RerankPrecision = Field(
        "auto",
        description="What the reranker multiplies in: auto = bfloat16 where the CPU does it in hardware "
        "(1.8x as fast, a top pick moved about once in 130 questions), else float32.",
    )


class RefusalSettings(BaseModel):
    """Refusal: a weighing of the best quote's evidence (features, and "rerank": the reranker's logit),
    fit by bench/fit_refusal.py on news-dev and the project's news questions the reranker did not train
    on, refusing at most 8% of their answerable ones (docs/benchmarks.md). The reranked rule weighs
    only evidence that means the same in one article as in a million (shares of the question's words,
    not IDF; the reranker's gap and the stages' agreement within the question's own candidates)."""

    refusal_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "rerank": 0.5176,
            "rerank_gap": 0.0037,
            "sent": 1.642,
            "story_share": 1.9067,
            "first_rank": 0.4729,
            "number_missing": -0.9592,
            "withheld": -5.0349,
        },
        description="Weights of the best quote's evidence in the confidence that it answers at all.",
    )
    min_answer_score: float = Field(2.3442, description="Below this confidence the engine refuses to answer.")
    # The same, for NEWSBOT_RERANK=false (no reranker logit to weigh).
    first_stage_refusal_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "sent": 2.4224,
            "ctx_overlap": 1.3774,
            "story_overlap": 1.4612,
            "story_missing": -0.0366,
            "number_missing": -1.9201,
        }
    )
    first_stage_min_answer_score: float = 2.4706


class AnswerSettings(BaseModel):
    """What an answer's quotes are: one story across outlets, one quote per statement, and the
    question's length."""

    copy_overlap: float = Field(
        0.8, gt=0, le=1, description="Share of sentences two outlets' texts must share to be one story."
    )
    duplicate_similarity: float = Field(0.95, description="Cosine at which two quotes count as one.")
    # Measured on the BBC news set in index/news/stories.py's docstring (bench/story_pairs.py).
    story_similarity: float = Field(
        0.6, description="Cosine of their sentences' centroids that two articles of one story reach at least."
    )
    # Over 1: names never make one story.
    story_names: float = Field(
        0.5, ge=0, description="Share of the rarer article's named terms (idf-weighted) the other names."
    )
    # A later report may never repeat its story's words ("ending the walkout"); its names still match.
    story_follow_days: int = Field(
        14,
        ge=0,
        description="Days after the best quote's article a current-state question looks for its "
        "story's later reports by their shared names (0: never).",
    )
    story_follow_articles: int = Field(
        5, ge=1, le=50, description="Most later reports one question brings in that way."
    )
    max_question_chars: int = Field(1000, ge=1)


class FetchSettings(BaseModel):
    """Fetching pages (URLs and feeds): what may be reached, and how much is read."""

    allow_private_urls: bool = False
    fetch_timeout: float = Field(15.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, gt=0)
    fetch_max_redirects: int = Field(5, ge=0)
    fetch_per_host: int = Field(2, ge=1)
    fetch_ports: frozenset[int] = Field(
        frozenset({80, 443}), description="Ports a URL may name (any, with NEWSBOT_ALLOW_PRIVATE_URLS)."
    )
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot/newsbot)"


class FeedSettings(BaseModel):
    """Reading RSS/Atom feeds (the bot's polling schedule is in bot/settings.py)."""

    feed_max_items: int = Field(
        100, ge=1, description="New items taken from one feed per poll (newest first); the rest wait."
    )
    max_concurrent_feeds: int = Field(4, ge=1, description="Feeds one poll reads at once.")
    max_concurrent_feed_items: int = Field(
        8,
        ge=1,
        description="Items of one feed whose pages are read at once (NEWSBOT_FETCH_PER_HOST applies too).",
    )
    # A site that is down must not cost a timeout per item (an item past its retry window is still tried).
    feed_host_failures: int = Field(
        3, ge=1, description="Transient failures from one site in one poll after which its other pages wait."
    )
    # Should a forgotten item ever come back, the ingest still recognises the article (by URL or text).
    feed_seen_days: float = Field(
        30, gt=0, description="Days a seen item that has left its feed is remembered."
    )
    feed_item_retry_minutes: float = Field(
        120,
        ge=0,
        description="Minutes an item whose page keeps failing waits before the feed's own text is taken.",
    )
    feed_backoff_minutes: float = Field(
        5, gt=0, description="Wait after a feed's first failed poll; it doubles with each further one."
    )
    feed_backoff_max_minutes: float = Field(360, gt=0, description="The longest wait after failed polls.")


class TrendSettings(BaseModel):
    """What /trend and `newsbot trend` count: the articles of the stories a search finds about the query."""

    # A search lists its candidate stories best first, related or not: a floor keeps the related ones.
    # On the project's harbour stories those about the query score 0.6 to 2.4, the rest at most 0.3.
    trend_min_score: float = Field(0.5, description="Score a found story needs to be counted.")
    # As many as one search finds: the stories of its dense and BM25 candidates (60 + 60 by default).
    trend_candidates: int = Field(200, ge=1, description="Stories one trend search takes, best first.")


class WatchSettings(BaseModel):
    """Watches (standing queries, index/features/watch.py): how sure a new article's quote must be."""

    # Over the refusal threshold, as measured by bench/watch_margin.py on tests/fixtures/watch (12
    # queries, each checked against 7 new articles one at a time; earlier rerankers' figures are in the
    # git history). With the reranker trained with news-train7 too, reading 30, and its rule, the 8 pairs
    # that should fire are 0.60 over the threshold or more ('ferry crews pay dispute' the least) and the
    # best of the 76 others 0.38 under ('new pier' against the ferry strike's end). A watch is a topic,
    # not the question the rule was fit on, so it gets the middle of that gap: 0.1 over the rule fires
    # all 8 and none of the others.
    watch_margin: float = Field(
        0.1, description="Added to NEWSBOT_MIN_ANSWER_SCORE: the confidence a watch's quote needs to post."
    )


# The sections are listed last to first: pydantic gathers fields from the last base on, so the fields
# keep the order they have always had (model_dump's, which bench/train_reranker.py keys its cache by).
class Settings(
    WatchSettings,
    TrendSettings,
    FeedSettings,
    FetchSettings,
    AnswerSettings,
    RefusalSettings,
    RerankSettings,
    RetrievalSettings,
    VectorSettings,
    EmbeddingSettings,
    StoreSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        ignored_types=(SectionView,),
    )

    storage = SectionView(StoreSettings)
    embedding = SectionView(EmbeddingSettings)
    vectors = SectionView(VectorSettings)
    retrieval = SectionView(RetrievalSettings)
    reranking = SectionView(RerankSettings)
    refusal = SectionView(RefusalSettings)
    answers = SectionView(AnswerSettings)
    fetching = SectionView(FetchSettings)
    feeds = SectionView(FeedSettings)
    trend = SectionView(TrendSettings)
    watches = SectionView(WatchSettings)
