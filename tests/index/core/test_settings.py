"""Settings from the environment: what a partial or wrong value does."""

from pathlib import Path

import pytest

from index.core.errors import EngineError
from index.core.settings import SectionView, Settings, VectorSettings
from index.storage import vectors


def test_partial_weights_change_only_the_weights_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None).weights
    monkeypatch.setenv("NEWSBOT_WEIGHTS", '{"ctx": 2.5, "lead": 0}')
    weights = Settings(_env_file=None).weights
    assert weights == {**defaults, "ctx": 2.5, "lead": 0.0}
    assert set(weights) == set(defaults)  # none left to weigh 0 unnoticed


def test_fetch_ports_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).fetch_ports == {80, 443}
    monkeypatch.setenv("NEWSBOT_FETCH_PORTS", "[443, 8443]")
    assert Settings(_env_file=None).fetch_ports == {443, 8443}


def test_every_setting_is_in_exactly_one_section() -> None:
    views = {name: view for name, view in vars(Settings).items() if isinstance(view, SectionView)}
    fields = [field for view in views.values() for field in view.section.model_fields]
    assert sorted(fields) == sorted(Settings.model_fields)  # none left out, none in two
    assert all(view.section.__doc__ for view in views.values())


def test_a_section_reads_the_flat_settings_however_they_were_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_TOP_K", "7")
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "2.5")
    settings = Settings(_env_file=None, data_dir="/tmp/newsbot-sections", rerank=False)
    assert settings.retrieval.top_k == settings.top_k == 7
    assert settings.fetching.fetch_timeout == 2.5
    assert settings.storage.db_path == settings.db_path == Path("/tmp/newsbot-sections/newsbot.db")
    assert not settings.reranking.rerank
    copied = settings.model_copy(update={"top_k": 3, "min_answer_score": 1.5})
    assert (copied.retrieval.top_k, copied.refusal.min_answer_score) == (3, 1.5)
    assert isinstance(settings.vectors, VectorSettings) and isinstance(settings, VectorSettings)


def test_the_vector_index_kinds_and_threshold_are_the_settings() -> None:
    defaults = Settings(_env_file=None)
    assert vectors.KINDS == ("auto", "flat", "ivf")
    assert (defaults.vector_index, defaults.ann_threshold) == (vectors.DEFAULT_KIND, vectors.ANN_THRESHOLD)


def test_the_read_url_needs_a_postgresql_primary_and_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(_env_file=None).read_url() is None  # unset: questions read the primary
    replica = "postgresql://newsbot:hunter2@replica/newsbot"
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://newsbot:hunter2@primary/newsbot")
    monkeypatch.setenv("NEWSBOT_DATABASE_READ_URL", replica)
    settings = Settings(_env_file=None)
    assert settings.read_url() == replica and "hunter2" not in repr(settings)
    short = replica.replace("postgresql://", "postgres://")
    assert settings.model_copy(update={"database_read_url": short}).read_url() == short
    refused = {
        "sqlite:///srv/hunter2.db": r"is a sqlite:// URL: set it to postgresql://",
        "host=replica password=hunter2": r"is not a URL: set it to postgresql://",
    }
    for url, says in refused.items():
        with pytest.raises(EngineError, match=says) as raised:
            settings.model_copy(update={"database_read_url": url}).read_url()
        assert "hunter2" not in str(raised.value)
    with pytest.raises(EngineError, match="NEWSBOT_DATABASE_URL is not: .* set NEWSBOT_DATABASE_URL"):
        settings.model_copy(update={"database_url": None}).read_url()
