"""Settings from the environment: what a partial or wrong value does."""

import pytest

from index.core.settings import Settings


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
