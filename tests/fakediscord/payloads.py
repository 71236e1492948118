"""Builders for Discord API objects, shaped like what Discord really sends.

Every builder emits the keys discord.py 2.7 indexes unconditionally (``data['x']``), so a
payload that parses here also parses against the real service; optional keys are filled
with Discord's usual defaults so code under test sees realistic objects.
"""

from __future__ import annotations

import datetime
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Gateway intents that change what the fake delivers.
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Application flags: message content + guild members intents enabled ("limited", i.e. < 100 guilds).
APPLICATION_FLAGS = (1 << 19) | (1 << 15)

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class SnowflakeFactory:
    """Issues unique, increasing snowflakes that encode the current time.

    discord.py derives ``created_at`` from ids, so they must carry a plausible timestamp.
    """

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last

    def on_shard(self, shard_id: int, count: int) -> int:
        """A new snowflake that, as a guild's id, Discord routes to shard ``shard_id`` of ``count``
        (``(id >> 22) % count == shard_id``): its time moved up to ``count`` milliseconds ahead."""
        snowflake = self()
        snowflake += ((shard_id - (snowflake >> 22)) % count) << 22
        self._last = max(self._last, snowflake)
        return snowflake


_tokens = itertools.count(1)


def new_token(prefix: str) -> str:
    """Opaque interaction tokens; unique per process so routes can be keyed by them."""
    return f"{prefix}-{next(_tokens)}-{time.time_ns():x}"


def iso_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclass
class FakeUser:
    """A user that is also a member of the fake guild (guild-scoped data lives here too)."""

    id: int
    username: str
    bot: bool = False
    role_ids: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username.title(),
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }

    def member_payload(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        """Guild member object; ``permissions`` is only present in interaction payloads."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.to_payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


def role_payload(
    role_id: int, name: str, permissions: int, *, position: int = 0, bot_id: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "managed": bot_id is not None,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        data["tags"] = {"bot_id": str(bot_id)}
    return data


def text_channel_payload(channel_id: int, guild_id: int, name: str, *, position: int = 0) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def dm_channel_payload(channel_id: int, recipient: FakeUser) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 1,
        "recipients": [recipient.to_payload()],
        "last_message_id": None,
        "flags": 0,
    }


def application_payload(app_id: int, bot_user: FakeUser, owner: FakeUser) -> dict[str, Any]:
    """GET /oauth2/applications/@me; interactions_endpoint_url must be null or discord.py warns."""
    return {
        "id": str(app_id),
        "name": bot_user.username,
        "icon": None,
        "description": "Fake application for tests",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": APPLICATION_FLAGS,
        "owner": owner.to_payload(),
        "team": None,
        "bot": bot_user.to_payload(),
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "tags": [],
        "approximate_guild_count": 1,
        "integration_types_config": {"0": {}},
    }


def message_payload(
    *,
    message_id: int,
    channel_id: int,
    author: FakeUser,
    content: str = "",
    guild_id: int | None = None,
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    mentions: list[dict[str, Any]] | None = None,
    message_type: int = 0,
    flags: int = 0,
    reference: dict[str, Any] | None = None,
    referenced_message: dict[str, Any] | None = None,
    webhook_id: int | None = None,
    application_id: int | None = None,
    interaction_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message_id),
        "type": message_type,
        "channel_id": str(channel_id),
        "author": author.to_payload(),
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": embeds or [],
        "components": components or [],
        "pinned": False,
        "flags": flags,
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    if reference is not None:
        data["message_reference"] = reference
        data["referenced_message"] = referenced_message
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
    if application_id is not None:
        data["application_id"] = str(application_id)
    if interaction_metadata is not None:
        data["interaction_metadata"] = interaction_metadata
    return data
