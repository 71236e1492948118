"""In-process fake of Discord's REST API and gateway for driving the real discord.py client in tests."""

from .client import point_discord_at, running_client
from .payloads import ADMINISTRATOR, MANAGE_GUILD, FakeUser
from .rest import RecordedRequest, UploadedFile
from .server import FakeDiscord, FakeGuild, FakeInteraction

__all__ = [
    "ADMINISTRATOR",
    "MANAGE_GUILD",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeUser",
    "RecordedRequest",
    "UploadedFile",
    "point_discord_at",
    "running_client",
]
