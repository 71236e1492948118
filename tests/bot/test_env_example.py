"""`.env.example` lists every setting, so a new one is never a secret kept in the code."""

from bot.settings import BotSettings
from tests.conftest import ROOT


def test_every_setting_is_in_env_example():
    text = (ROOT / ".env.example").read_text()
    missing = [name for name in BotSettings.model_fields if f"NEWSBOT_{name.upper()}=" not in text]
    assert missing == [], f"add these to .env.example: {missing}"
