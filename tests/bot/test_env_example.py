"""`.env.example` lists every setting, so a new one is never a secret kept in the code; and every name
it gives sets the setting it names, so a copied line never silently does nothing."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot.settings import BotSettings
from tests.conftest import ROOT

# Values to try on each setting until one is valid for it and differs from its default.
_TRIES = ("2", "3", "0.5", "true", "false", "off", "flat", "float32", "[443]", '{"sent": 1.5}', "text")


def _names() -> list[str]:
    return sorted(set(re.findall(r"\bNEWSBOT_([A-Z0-9_]+)", (ROOT / ".env.example").read_text())))


def test_every_setting_is_in_env_example():
    text = (ROOT / ".env.example").read_text()
    missing = [name for name in BotSettings.model_fields if f"NEWSBOT_{name.upper()}=" not in text]
    assert missing == [], f"add these to .env.example: {missing}"


@pytest.mark.parametrize("name", _names())
def test_every_name_in_env_example_sets_its_setting(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    field = name.lower()
    assert field in BotSettings.model_fields, f".env.example names NEWSBOT_{name}, which no setting reads"
    default = getattr(BotSettings(_env_file=None), field)
    for value in _TRIES:
        monkeypatch.setenv(f"NEWSBOT_{name}", value)
        try:
            if getattr(BotSettings(_env_file=None), field) != default:
                return
        except (ValidationError, SettingsError):  # not a value of its type
            continue
    pytest.fail(f"NEWSBOT_{name} changed nothing with any of {_TRIES}")
