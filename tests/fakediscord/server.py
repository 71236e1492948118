"""`FakeDiscord`: an in-process stand-in for Discord's REST API and gateway that discord.py talks to.

It runs on 127.0.0.1 inside the test's event loop, holds one guild with a text channel, a normal
member, an admin (Manage Server) and the bot, plus a second guild with a channel of its own (the same
users, with the same roles, are members of both; the bot is told of it only by its interactions, as of
a guild still unavailable), records every REST call, and lets tests push gateway
events (slash commands, message context menus, autocomplete, component clicks, modal submits,
messages) with payloads that
mirror what Discord sends.

`add_guild` adds more guilds, sent in full (GUILD_CREATE) as the first is. Sessions are sharded as
Discord shards them: a session that identifies with ``shard: [i, n]`` is told of the guilds with
``(guild_id >> 22) % n == i`` only, and a guild's interactions and messages go only to the session
holding its shard (direct messages to shard 0), so several bot processes can each run a shard range.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self, TypeVar

from aiohttp import WSMsgType, web

from .gateway import (
    CLOSE_AUTHENTICATION_FAILED,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE_UPDATE,
    OP_RECONNECT,
    OP_REQUEST_GUILD_MEMBERS,
    OP_RESUME,
    GatewayConnection,
    GatewaySession,
)
from .payloads import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    APPLICATION_FLAGS,
    ATTACHMENT_SIZE_LIMIT,
    DISCORD_EPOCH_MS,
    EVERYONE_PERMISSIONS,
    FLAG_EPHEMERAL,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    MANAGE_GUILD,
    FakeUser,
    SnowflakeFactory,
    dm_channel_payload,
    message_payload,
    new_token,
    role_payload,
    text_channel_payload,
)
from .rest import ApiError, RecordedRequest, Reply, RestApi, UploadedFile, apply_edit

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
INTERACTION_TOKEN_LIFETIME = 15 * 60.0  # seconds, as on Discord
T = TypeVar("T")

_MENTION = re.compile(r"<@!?(\d+)>")
_SELECT_TYPES = {3, 5, 6, 7, 8}


@dataclass
class FakeInteraction:
    """An interaction the fake sent, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user: FakeUser
    channel_id: int
    created: float
    message_id: int | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def callback_types(self) -> list[int]:
        return [cb["type"] for cb in self.callbacks]

    def message_ids(self) -> list[int]:
        return ([self.original_id] if self.original_id is not None else []) + self.followup_ids


@dataclass(frozen=True)
class FakeGuild:
    """A guild the bot is in, with a text channel of its own."""

    id: int
    name: str
    channel_id: int


@dataclass
class _Injection:
    method: str
    path: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    remaining: int


class FakeDiscord:
    """Fake Discord REST + gateway server.

    Use as ``async with FakeDiscord() as fake:`` or call `start`/`stop`. Point discord.py at
    ``fake.api_url`` / ``fake.gateway_url`` (see ``client.point_discord_at``).
    """

    def __init__(
        self,
        *,
        token: str | None = "fake-token",
        host: str = "127.0.0.1",
        port: int = 0,
        heartbeat_interval_ms: int = 1000,
        interaction_timeout: float | None = 3.0,
        token_lifetime: float | None = INTERACTION_TOKEN_LIFETIME,
        bot_name: str = "newsbot",
        guild_name: str = "Newsroom",
        channel_name: str = "news",
    ) -> None:
        """``token=None`` accepts any token; ``interaction_timeout=None`` disables Discord's 3 s rule.
        ``token_lifetime``: seconds an interaction's token works for followups and edits (Discord: 15
        minutes; a test shortens it, or None never expires it)."""
        self.token = token
        self.host = host
        self.port = port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_timeout = interaction_timeout
        self.token_lifetime = token_lifetime
        self.snowflake = SnowflakeFactory()

        self.guild_id = self.snowflake()
        self.guild_name = guild_name
        self.everyone_role_id = self.guild_id
        self.admin_role_id = self.snowflake()
        self.bot_role_id = self.snowflake()
        self.bot_user = FakeUser(self.snowflake(), bot_name, bot=True, role_ids=[self.bot_role_id])
        self.application_id = self.bot_user.id
        self.owner_user = FakeUser(self.snowflake(), "owner", role_ids=[self.admin_role_id])
        self.member_user = FakeUser(self.snowflake(), "alice")
        self.admin_user = FakeUser(self.snowflake(), "bob", role_ids=[self.admin_role_id])
        self.roles: dict[int, dict[str, Any]] = {
            self.everyone_role_id: role_payload(self.everyone_role_id, "@everyone", EVERYONE_PERMISSIONS),
            self.admin_role_id: role_payload(self.admin_role_id, "Editors", MANAGE_GUILD, position=1),
            self.bot_role_id: role_payload(
                self.bot_role_id, bot_name, EVERYONE_PERMISSIONS, position=2, bot_id=self.bot_user.id
            ),
        }
        self.channel_id = self.snowflake()
        self.other_guild_id = self.snowflake()
        self.other_channel_id = self.snowflake()
        self.channels: dict[int, dict[str, Any]] = {
            self.channel_id: text_channel_payload(self.channel_id, self.guild_id, channel_name),
            self.other_channel_id: text_channel_payload(
                self.other_channel_id, self.other_guild_id, "elsewhere"
            ),
        }
        self.guilds = {self.guild_id: FakeGuild(self.guild_id, guild_name, self.channel_id)}
        self.left_guilds: list[int] = []  # guilds the bot left (DELETE /users/@me/guilds/{guild})
        self.users: dict[int, FakeUser] = {
            u.id: u for u in (self.bot_user, self.owner_user, self.member_user, self.admin_user)
        }
        self._dm_channels: dict[int, int] = {}  # user id -> DM channel id

        self.requests: list[RecordedRequest] = []
        self.interactions: dict[int, FakeInteraction] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._files: dict[int, bytes] = {}  # attachment id -> bytes, served under /attachments/
        self._commands: dict[int | None, dict[str, dict[str, Any]]] = {}
        self._injections: list[_Injection] = []

        self.gateway_received: list[dict[str, Any]] = []
        self.heartbeat_times: list[float] = []
        self.heartbeat_acks = 0
        self.identifies: list[dict[str, Any]] = []
        self.resumes = 0
        self.sessions: list[GatewaySession] = []  # the live one of each shard, by when it identified
        self._session: GatewaySession | None = None  # the latest to identify
        self._connections: set[GatewayConnection] = set()

        self._waiters: list[asyncio.Future[None]] = []
        self._rest = RestApi(self)
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get(r"/attachments/{channel:\d+}/{attachment:\d+}/{name}", self._handle_attachment)
        app.router.add_route("*", "/{tail:.*}", self._handle_http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        _log.info("fake discord listening on %s", self.base_url)

    async def stop(self) -> None:
        for conn in list(self._connections):
            await conn.ws.close(code=1001, message=b"fake discord stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    # -- world state ----------------------------------------------------------------------------

    @property
    def bot_mention(self) -> str:
        return self.bot_user.mention

    def add_guild(
        self, name: str, *, shard: tuple[int, int] | None = None, channel_name: str = "news"
    ) -> FakeGuild:
        """Another guild the bot is in, with a text channel, the same members and roles (its own
        @everyone); ``shard=(i, n)`` gives it an id that shard ``i`` of ``n`` holds. Add it before the
        bot connects: a session is told of its guilds when it identifies."""
        guild_id = self.snowflake.on_shard(*shard) if shard else self.snowflake()
        channel_id = self.snowflake()
        self.roles[guild_id] = role_payload(guild_id, "@everyone", EVERYONE_PERMISSIONS)
        self.channels[channel_id] = text_channel_payload(channel_id, guild_id, channel_name)
        guild = self.guilds[guild_id] = FakeGuild(guild_id, name, channel_id)
        return guild

    def add_user(self, username: str, *, admin: bool = False) -> FakeUser:
        """Another guild member, e.g. to test per-user limits."""
        user = FakeUser(self.snowflake(), username, role_ids=[self.admin_role_id] if admin else [])
        self.users[user.id] = user
        return user

    def user(self, user_id: int) -> FakeUser:
        try:
            return self.users[user_id]
        except KeyError:
            raise ApiError(404, 10013, "Unknown User") from None

    def permissions(self, user: FakeUser) -> int:
        """Guild-level permissions as Discord computes them (no channel overwrites exist here)."""
        if user.id == self.owner_user.id:
            return ALL_PERMISSIONS
        value = int(self.roles[self.everyone_role_id]["permissions"])
        for role_id in user.role_ids:
            value |= int(self.roles[role_id]["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def dm_channel(self, user: FakeUser) -> dict[str, Any]:
        if user.id not in self._dm_channels:
            channel_id = self.snowflake()
            self._dm_channels[user.id] = channel_id
            self.channels[channel_id] = dm_channel_payload(channel_id, user)
        return self.channels[self._dm_channels[user.id]]

    def channel(self, channel_id: int) -> dict[str, Any]:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ApiError(404, 10003, "Unknown Channel") from None

    def guild_payload(self, guild_id: int | None = None) -> dict[str, Any]:
        """GUILD_CREATE body of ``guild_id`` (default: the first guild). As on Discord (no presences
        intent), ``members`` holds only the bot; the rest arrive through chunking (op 8), which
        discord.py does when the members intent is on.
        """
        guild = self.guilds[guild_id or self.guild_id]
        guild_channels = [c for c in self.channels.values() if c.get("guild_id") == str(guild.id)]
        # the shared roles, and of the @everyone roles (each a guild's own id) only this guild's
        roles = [
            role for role_id, role in self.roles.items() if role_id == guild.id or role_id not in self.guilds
        ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_user.id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "system_channel_id": str(guild.channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "application_id": None,
            "widget_enabled": False,
            "widget_channel_id": None,
            "incidents_data": None,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "joined_at": self.bot_user.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(self.users),
            "voice_states": [],
            "members": [self.bot_user.member_payload()],
            "channels": guild_channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }

    # -- recording and waiting ----------------------------------------------------------------

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_until(self, condition: Callable[[], T], timeout: float = 30.0) -> T:
        """Re-evaluate ``condition`` after every REST call or gateway frame; return its first truthy value."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while not (result := condition()):
                    waiter = loop.create_future()
                    self._waiters.append(waiter)
                    await waiter
        except TimeoutError:
            recent = ", ".join(f"{r.method} {r.path} -> {r.status}" for r in self.requests[-10:])
            raise TimeoutError(f"condition not met within {timeout}s; last requests: [{recent}]") from None
        return result

    async def wait_for(
        self, predicate: Callable[[RecordedRequest], bool], timeout: float = 30.0
    ) -> RecordedRequest:
        """First recorded request (already seen or future) matching ``predicate``."""
        return await self.wait_until(lambda: next((r for r in self.requests if predicate(r)), None), timeout)

    async def wait_for_request(self, method: str, path: str, timeout: float = 30.0) -> RecordedRequest:
        """Like `wait_for`, matching ``method`` and a regex searched in the path."""
        return await self.wait_for(
            lambda r: r.method == method and re.search(path, r.path) is not None, timeout
        )

    async def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Until READY and the GUILD_CREATEs of the latest session went out (discord.py's on_ready follows
        after guild_ready_timeout)."""
        await self.wait_until(
            lambda: (
                self._session is not None and self._session.seq > len(self._guilds_held_by(self._session))
            ),
            timeout,
        )

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or re.search(path, r.path))
        ]

    def forget(self, older_than: float) -> None:
        """Drop the records older than ``older_than`` seconds: requests, messages neither sent nor edited
        since (and files uploaded before) unless they are the original response of an interaction kept,
        interactions whose token has expired too, and the gateway
        events the bot's last heartbeat confirmed it received. A long run (bench/soak.py) then holds a
        window of records, so that the process's memory growth is the bot's."""
        now, cutoff = time.time(), time.monotonic() - older_than
        oldest_id = (int((now - older_than) * 1000) - DISCORD_EPOCH_MS) << 22

        def recent(message_id: int, message: dict[str, Any]) -> bool:
            edited = message.get("edited_timestamp")
            return message_id >= oldest_id or (
                edited is not None and datetime.fromisoformat(edited).timestamp() >= now - older_than
            )

        self.requests[:] = [r for r in self.requests if r.time >= cutoff]
        self.interactions = {
            i: ix
            for i, ix in self.interactions.items()
            if ix.created >= cutoff or (self.token_lifetime is not None and not self.token_expired(ix))
        }
        # an interaction kept may still edit its original response, however long ago it was sent
        originals = {int(ix.original_id) for ix in self.interactions.values() if ix.original_id}
        self._messages = {i: m for i, m in self._messages.items() if recent(i, m) or i in originals}
        self._files = {i: data for i, data in self._files.items() if i >= oldest_id}
        beats = (p for p in reversed(self.gateway_received) if p.get("op") == OP_HEARTBEAT)
        confirmed = next((p["d"] for p in beats if isinstance(p.get("d"), int)), 0)
        if self._session is not None:
            self._session.sent = [p for p in self._session.sent if p["s"] > confirmed]

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Calls to routes the fake does not implement; a non-empty list usually means a missing route."""
        return [r for r in self.requests if r.route is None]

    def inject_error(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: dict[str, Any] | None = None,
        times: int = 1,
        retry_after: float = 0.1,
    ) -> None:
        """Fail the next ``times`` matching REST calls; 429s carry the headers discord.py needs to retry."""
        headers: dict[str, str] = {}
        if status == 429:
            body = body or {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
            }
            headers = {"Via": "1.1 google", "Retry-After": str(retry_after), "X-RateLimit-Scope": "user"}
        body = body or {"message": f"{status}: injected error", "code": 0}
        self._injections.append(_Injection(method, re.compile(path), status, body, headers, times))

    def _injected(self, method: str, path: str) -> _Injection | None:
        for injection in self._injections:
            if injection.remaining > 0 and injection.method == method and injection.path.search(path):
                injection.remaining -= 1
                return injection
        return None

    # -- REST entry point -----------------------------------------------------------------------

    async def _handle_http(self, request: web.Request) -> web.Response:
        path = request.path
        rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
        record = RecordedRequest(request.method, rel, dict(request.query), None, [], time.monotonic())
        self.requests.append(record)
        headers: dict[str, str] = {}
        try:
            try:
                record.json, record.files = await self._read_body(request)
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
            matched = self._rest.match(request.method, rel) if rel is not path else None
            if matched is None:
                _log.warning("fake discord: no route for %s %s (body %r)", request.method, path, record.json)
                raise ApiError(404, 0, "404: Not Found")
            route, params = matched
            record.route = route.pattern.pattern
            if "token" in params and (ix := self.interaction_by_token(params["token"])):
                ix.requests.append(record)
            authorized = self.token is None or request.headers.get("Authorization") == f"Bot {self.token}"
            if route.auth and not authorized:
                raise ApiError(401, 0, "401: Unauthorized")
            if injection := self._injected(request.method, rel):
                reply = Reply(injection.status, injection.body)
                headers = injection.headers
            else:
                reply = await route.handler(record, **params)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body)
        record.status, record.response = reply.status, reply.body
        _log.debug("%s %s -> %s", request.method, rel, reply.status)
        self._notify()
        if reply.body is None:
            return web.Response(status=reply.status, headers=headers)
        # Exact content type: discord.py only parses JSON when the header equals "application/json".
        headers["Content-Type"] = "application/json"
        return web.Response(status=reply.status, body=json.dumps(reply.body).encode(), headers=headers)

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON body, or multipart (discord.py's encoding whenever files are attached)."""
        if request.content_type == "multipart/form-data":
            payload: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    payload = json.loads(data)
                else:
                    files.append(
                        UploadedFile(
                            part.name or "",  # type: ignore[union-attr]
                            part.filename or "",  # type: ignore[union-attr]
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    # -- application commands -------------------------------------------------------------------

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered commands: global if ``guild_id`` is None, else that guild's."""
        return list(self._commands.get(guild_id, {}).values())

    def store_commands(
        self, guild_id: int | None, payloads: list[dict[str, Any]], *, replace: bool
    ) -> list[dict[str, Any]]:
        """Keep command ids stable per (name, type), as Discord does on bulk overwrite."""
        existing = self._commands.get(guild_id, {})
        stored: dict[str, dict[str, Any]] = {} if replace else dict(existing)
        result = []
        for payload in payloads:
            key = f"{payload.get('type', 1)}:{payload['name']}"
            old = existing.get(key)
            perms = payload.get("default_member_permissions")
            command = {
                "description": "",
                "options": [],
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **payload,
                "id": old["id"] if old else str(self.snowflake()),
                "application_id": str(self.application_id),
                "version": str(self.snowflake()),
                "type": payload.get("type", 1),
                "default_member_permissions": None if perms is None else str(perms),
            }
            if guild_id is not None:
                command["guild_id"] = str(guild_id)
            stored[key] = command
            result.append(command)
        self._commands[guild_id] = stored
        return result

    def _registered_command(self, name: str, guild_id: int | None, kind: int = 1) -> dict[str, Any]:
        """The command a user can pick: a slash command (``kind`` 1), a user (2) or message (3) menu."""
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            if command := self._commands.get(scope, {}).get(f"{kind}:{name}"):
                return command
        known = sorted(c["name"] for scope in scopes for c in self.commands(scope) if c["type"] == kind)
        shown = f"/{name}" if kind == 1 else f"the {name!r} menu"
        raise LookupError(f"{shown} is not registered (Discord would not offer it); registered: {known}")

    # -- messages -------------------------------------------------------------------------------

    def get_message(self, message_id: int) -> dict[str, Any]:
        try:
            return self._messages[message_id]
        except KeyError:
            raise ApiError(404, 10008, "Unknown Message") from None

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Live (not deleted) messages in a channel, oldest first, including ephemeral ones."""
        return [m for m in self._messages.values() if m["channel_id"] == str(channel_id)]

    def _guild_of(self, channel_id: int) -> int | None:
        guild_id = self.channels[channel_id].get("guild_id")
        return int(guild_id) if guild_id else None

    def _mentions(self, content: str, extra: Sequence[int] = ()) -> list[dict[str, Any]]:
        ids = [int(i) for i in _MENTION.findall(content)] + list(extra)
        users = [self.users[i] for i in dict.fromkeys(ids) if i in self.users]
        return [u.to_payload() | {"member": u.member_payload(with_user=False)} for u in users]

    def _attachments(self, channel_id: int, files: list[UploadedFile]) -> list[dict[str, Any]]:
        return [self._attachment(channel_id, upload) for upload in files]

    def _attachment(self, channel_id: int, upload: UploadedFile) -> dict[str, Any]:
        """An attachment object; its bytes are then served at its ``url``, as Discord's CDN would."""
        attachment_id = self.snowflake()
        self._files[attachment_id] = upload.data
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{upload.filename}"
        return {
            "id": str(attachment_id),
            "filename": upload.filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": upload.content_type,
        }

    async def _handle_attachment(self, request: web.Request) -> web.Response:
        data = self._files.get(int(request.match_info["attachment"]))
        if data is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=data, content_type="application/octet-stream")

    def _reference(self, channel_id: int, ref: dict[str, Any] | None) -> tuple[dict | None, dict | None]:
        if not ref:
            return None, None
        target = self._messages.get(int(ref.get("message_id") or 0))
        if target is None and ref.get("fail_if_not_exists", True):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "message_reference": {
                        "_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": ""}]
                    }
                },
            )
        reference = {"type": 0, "message_id": str(ref.get("message_id")), "channel_id": str(channel_id)}
        if (guild_id := self._guild_of(channel_id)) is not None:
            reference["guild_id"] = str(guild_id)
        if target is not None:  # Discord resolves one level only
            target = {k: v for k, v in target.items() if k not in ("message_reference", "referenced_message")}
        return reference, target

    @staticmethod
    def _embeds(embeds: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [{"type": "rich", **e} for e in embeds or []]

    async def create_bot_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[UploadedFile],
        *,
        interaction: FakeInteraction | None = None,
        followup: bool = False,
    ) -> dict[str, Any]:
        """Store a message the bot created (channel send, interaction response or followup) and echo it."""
        reference, target = self._reference(channel_id, body.get("message_reference"))
        flags = body.get("flags") or 0
        if interaction is None:
            flags &= ~FLAG_EPHEMERAL  # only interaction responses can be ephemeral
        metadata = None
        message_type = 19 if reference else 0
        if interaction is not None:
            metadata = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user.to_payload(),
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
            if not followup and interaction.type == 2:
                message_type = 20
        message = message_payload(
            message_id=self.snowflake(),
            channel_id=channel_id,
            guild_id=self._guild_of(channel_id),
            author=self.bot_user,
            content=body.get("content") or "",
            embeds=self._embeds(body.get("embeds")),
            components=body.get("components"),
            attachments=self._attachments(channel_id, files),
            mentions=self._mentions(body.get("content") or ""),
            message_type=message_type,
            flags=flags,
            reference=reference,
            referenced_message=target,
            webhook_id=self.application_id if interaction else None,
            application_id=self.application_id if interaction else None,
            interaction_metadata=metadata,
        )
        self._messages[int(message["id"])] = message
        if interaction is not None and not followup:
            interaction.original_id = int(message["id"])
        await self._broadcast_message("MESSAGE_CREATE", message)
        return message

    async def edit_bot_message(
        self, message_id: int, body: dict[str, Any], files: list[UploadedFile]
    ) -> dict[str, Any]:
        message = self.get_message(message_id)
        if "embeds" in body:
            body = body | {"embeds": self._embeds(body["embeds"])}
        apply_edit(message, body, self._attachments(int(message["channel_id"]), files))
        if "content" in body:
            message["mentions"] = self._mentions(message["content"])
        await self._broadcast_message("MESSAGE_UPDATE", message)
        return message

    async def delete_message(self, message_id: int) -> None:
        message = self._messages.pop(message_id)
        session = self._session_holding(message)
        if message["flags"] & FLAG_EPHEMERAL or session is None:
            return
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if "guild_id" in message:
            data["guild_id"] = message["guild_id"]
        if session.intents & self._message_intent(message):
            await session.dispatch("MESSAGE_DELETE", data)

    @staticmethod
    def _message_intent(message: dict[str, Any]) -> int:
        return INTENT_GUILD_MESSAGES if "guild_id" in message else INTENT_DIRECT_MESSAGES

    async def _broadcast_message(self, event: str, message: dict[str, Any]) -> None:
        """Gateway echo of a message, honouring intents, ephemerality and the message-content rule."""
        session = self._session_holding(message)
        if session is None or message["flags"] & FLAG_EPHEMERAL:
            return
        if not session.intents & self._message_intent(message):
            _log.debug("not sending %s: bot lacks the messages intent", event)
            return
        data = dict(message)
        if "guild_id" in message and "webhook_id" not in message:
            data["member"] = self.users[int(message["author"]["id"])].member_payload(with_user=False)
        privileged = session.intents & INTENT_MESSAGE_CONTENT
        bot_id = str(self.bot_user.id)
        if not (privileged or "guild_id" not in message or message["author"]["id"] == bot_id) and not any(
            m["id"] == bot_id for m in message["mentions"]
        ):
            data.update(content="", embeds=[], attachments=[], components=[])
        await session.dispatch(event, data)

    async def message(
        self,
        content: str,
        *,
        author: FakeUser | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        reference: dict[str, Any] | int | None = None,
    ) -> dict[str, Any]:
        """A user posts a message (MESSAGE_CREATE). Mentions come from ``<@id>`` in ``content``.

        ``reference`` (a message or its id) makes it a reply, which also mentions the replied-to author.
        """
        author = author or self.member_user
        channel = self.dm_channel(author) if dm else self.channel(channel_id or self.channel_id)
        channel_id = int(channel["id"])
        ref_id = reference if isinstance(reference, int) else int(reference["id"]) if reference else None
        ref, target = self._reference(channel_id, {"message_id": str(ref_id)} if ref_id else None)
        replied = [int(target["author"]["id"])] if target else []
        message = message_payload(
            message_id=self.snowflake(),
            channel_id=channel_id,
            guild_id=self._guild_of(channel_id),
            author=author,
            content=content,
            mentions=self._mentions(content, replied),
            message_type=19 if ref else 0,
            reference=ref,
            referenced_message=target,
        )
        self._messages[int(message["id"])] = message
        await self._broadcast_message("MESSAGE_CREATE", message)
        return message

    # -- interactions ---------------------------------------------------------------------------

    def interaction(self, interaction_id: int) -> FakeInteraction:
        return self.interactions[interaction_id]

    def interaction_by_token(self, token: str) -> FakeInteraction | None:
        return next((ix for ix in self.interactions.values() if ix.token == token), None)

    def interaction_responses(self, interaction_id: int) -> list[RecordedRequest]:
        """Callback and webhook (followup/edit/delete) calls for one interaction in order, failures too."""
        return list(self.interactions[interaction_id].requests)

    def interaction_expired(self, ix: FakeInteraction) -> bool:
        timeout = self.interaction_timeout
        return timeout is not None and not ix.callbacks and time.monotonic() - ix.created > timeout

    def token_expired(self, ix: FakeInteraction) -> bool:
        """Past ``token_lifetime``: the interaction's webhook (followups, edits) answers 401."""
        lifetime = self.token_lifetime
        return lifetime is not None and time.monotonic() - ix.created > lifetime

    async def _send_interaction(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None,
        channel_id: int | None,
        dm: bool,
        member_permissions: int | None,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> FakeInteraction:
        user = user or self.member_user
        channel = self.dm_channel(user) if dm else self.channel(channel_id or self.channel_id)
        interaction_id = self.snowflake()
        token = new_token("interaction")
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "channel_id": channel["id"],
            "channel": channel,
            "app_permissions": str(self.permissions(self.bot_user)),
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "authorizing_integration_owners": {"0": "0" if dm else str(self._guild_of(int(channel["id"])))},
            "context": 1 if dm else 0,
        }
        if dm:
            payload["user"] = user.to_payload()
        else:
            perms = self.permissions(user) if member_permissions is None else member_permissions
            payload |= {
                "guild_id": str(self._guild_of(int(channel["id"]))),
                "guild": {"id": str(self._guild_of(int(channel["id"]))), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "member": user.member_payload(permissions=perms),
            }
        if message is not None:
            payload["message"] = message
        ix = FakeInteraction(
            id=interaction_id,
            token=token,
            type=itype,
            payload=payload,
            user=user,
            channel_id=int(channel["id"]),
            created=time.monotonic(),
            message_id=int(message["id"]) if message else None,
        )
        self.interactions[interaction_id] = ix
        await self.dispatch("INTERACTION_CREATE", payload)
        return ix

    def _command_data(
        self, name: str, options: dict[str, Any], *, dm: bool, focused: str | None = None
    ) -> dict[str, Any]:
        """Interaction ``data`` for ``name`` ("news" or "news latest"), typed by the registered schema."""
        root, *path = name.split()
        command = self._registered_command(root, None if dm else self.guild_id)
        data: dict[str, Any] = {"id": command["id"], "name": root, "type": 1}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        schema, container = command.get("options") or [], data
        for sub in path:
            option = next((o for o in schema if o["name"] == sub and o["type"] in (1, 2)), None)
            if option is None:
                raise LookupError(f"/{name}: no subcommand {sub!r}")
            nested: dict[str, Any] = {"name": sub, "type": option["type"], "options": []}
            container.setdefault("options", []).append(nested)
            schema, container = option.get("options") or [], nested
        resolved: dict[str, dict[str, Any]] = {}
        built = []
        for key, value in options.items():
            option = next((o for o in schema if o["name"] == key), None)
            if option is None:
                raise LookupError(f"/{name} has no option {key!r}; schema: {[o['name'] for o in schema]}")
            entry: dict[str, Any] = {"name": key, "type": option["type"], "value": value}
            if key == focused:
                entry |= {"value": str(value), "focused": True}
            elif isinstance(value, FakeUser):
                entry["value"] = str(value.id)
                resolved.setdefault("users", {})[str(value.id)] = value.to_payload()
                member = value.member_payload(with_user=False, permissions=self.permissions(value))
                resolved.setdefault("members", {})[str(value.id)] = member
            elif option["type"] == 7:
                entry["value"] = str(value)
                resolved.setdefault("channels", {})[str(value)] = self.channel(int(value)) | {
                    "permissions": "0"
                }
            elif option["type"] == 8:
                entry["value"] = str(value)
                resolved.setdefault("roles", {})[str(value)] = self.roles[int(value)]
            elif option["type"] == 11:
                if not isinstance(value, UploadedFile):
                    raise TypeError(f"/{name} option {key!r} is an attachment; pass an UploadedFile")
                attachment = self._attachment(self.channel_id, value)
                entry["value"] = attachment["id"]
                resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            built.append(entry)
        if focused is None:
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in options]
            if missing:
                raise ValueError(f"/{name}: required options missing: {missing}")
        container["options"] = built
        if resolved:
            data["resolved"] = resolved
        return data

    async def slash_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        member_permissions: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user runs ``/name`` (type 2). ``name`` may include subcommands: "news latest".

        Option values are plain Python values; user options take a `FakeUser`, channel and role
        options an id, attachment options an `UploadedFile` (its bytes are then downloadable from the
        attachment's URL). ``member_permissions`` overrides the computed permission integer.
        """
        data = self._command_data(name, options or {}, dm=dm)
        return await self._send_interaction(
            2,
            data,
            user=user,
            channel_id=channel_id,
            dm=dm,
            member_permissions=member_permissions,
            locale=locale,
        )

    async def message_command(
        self,
        name: str,
        message: dict[str, Any] | int,
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user picks ``name`` from a stored message's Apps menu (a MESSAGE context menu: command
        type 3, in the message's channel). As on Discord, the target message arrives resolved with its
        content, whatever the bot's intents."""
        stored = self.get_message(message if isinstance(message, int) else int(message["id"]))
        channel_id = int(stored["channel_id"])
        dm = self.channels[channel_id]["type"] == 1
        command = self._registered_command(name, self._guild_of(channel_id), kind=3)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": stored["id"],
            "resolved": {"messages": {stored["id"]: stored}},
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return await self._send_interaction(
            2, data, user=user, channel_id=channel_id, dm=dm, member_permissions=None, locale=locale
        )

    def attachment_data(self, attachment: dict[str, Any]) -> bytes:
        """The bytes of an attachment the bot sent (what its ``url`` serves)."""
        return self._files[int(attachment["id"])]

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        *,
        user: FakeUser | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A user is typing into option ``focused`` of ``/name`` (type 4); its value is sent as typed text."""
        data = self._command_data(name, options, dm=dm, focused=focused)
        return await self._send_interaction(
            4, data, user=user, channel_id=channel_id, dm=dm, member_permissions=None, locale=locale
        )

    @staticmethod
    def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
        for component in components:
            if component.get("custom_id") == custom_id:
                return component
            children = component.get("components") or []
            if "accessory" in component:
                children = [*children, component["accessory"]]
            if found := FakeDiscord._find_component(children, custom_id):
                return found
        return None

    async def component_click(
        self,
        message: dict[str, Any] | int,
        custom_id: str,
        *,
        values: list[str] | None = None,
        user: FakeUser | None = None,
    ) -> FakeInteraction:
        """A user presses a button or picks ``values`` in a select on a stored message (type 3)."""
        stored = self.get_message(message if isinstance(message, int) else int(message["id"]))
        component = self._find_component(stored["components"], custom_id)
        if component is None:
            raise LookupError(f"message {stored['id']} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; a user cannot click it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in _SELECT_TYPES:
            if values is None:
                raise ValueError(f"component {custom_id!r} is a select; pass values")
            data["values"] = values
        channel_id = int(stored["channel_id"])
        return await self._send_interaction(
            3,
            data,
            user=user,
            channel_id=channel_id,
            dm=self.channels[channel_id]["type"] == 1,
            member_permissions=None,
            locale="en-US",
            message=stored,
        )

    async def forged_click(
        self,
        message: dict[str, Any],
        custom_id: str,
        *,
        user: FakeUser | None = None,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        """A button press from a hostile client: any ``custom_id`` (on the message or not), carrying
        ``message`` as given (a stored one, or a tampered copy), from ``channel_id`` (by default the
        message's own, or another guild's). `component_click` is the honest press."""
        channel_id = channel_id or int(message["channel_id"])
        return await self._send_interaction(
            3,
            {"custom_id": custom_id, "component_type": 2},
            user=user,
            channel_id=channel_id,
            dm=self.channels[channel_id]["type"] == 1,
            member_permissions=None,
            locale="en-US",
            message=message,
        )

    async def modal_submit(
        self, custom_id: str, values: dict[str, str], *, user: FakeUser | None = None
    ) -> FakeInteraction:
        """A user submits the modal the bot opened (type-9 callback) as ``custom_id``; values by field id."""
        source = next(
            (
                ix
                for ix in reversed(list(self.interactions.values()))
                for cb in ix.callbacks
                if cb["type"] == 9 and cb["data"].get("custom_id") == custom_id
            ),
            None,
        )
        if source is None:
            raise LookupError(f"the bot never opened a modal {custom_id!r}")
        modal = next(cb["data"] for cb in source.callbacks if cb["type"] == 9)

        def submitted(component: dict[str, Any]) -> dict[str, Any]:
            if component["type"] == 1:
                return {"type": 1, "components": [submitted(c) for c in component["components"]]}
            if component["type"] == 18:
                return {"type": 18, "component": submitted(component["component"])}
            return {
                "type": component["type"],
                "custom_id": component.get("custom_id"),
                "value": values.get(component.get("custom_id", ""), ""),
            }

        data = {"custom_id": custom_id, "components": [submitted(c) for c in modal["components"]]}
        message = self._messages.get(source.message_id) if source.message_id else None
        return await self._send_interaction(
            5,
            data,
            user=user or source.user,
            channel_id=source.channel_id,
            dm="guild_id" not in source.payload,
            member_permissions=None,
            locale="en-US",
            message=message,
        )

    # -- gateway --------------------------------------------------------------------------------

    def _session_holding(self, data: dict[str, Any]) -> GatewaySession | None:
        """The session an event about ``data`` (with its ``guild_id``, if any) goes to, as Discord
        routes it: the one holding the guild's shard."""
        guild_id = int(data["guild_id"]) if data.get("guild_id") else None
        return next((s for s in reversed(self.sessions) if s.holds(guild_id)), None)

    def _guilds_held_by(self, session: GatewaySession) -> list[int]:
        return [guild_id for guild_id in self.guilds if session.holds(guild_id)]

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a raw DISPATCH to the bot session holding ``data``'s guild (its ``guild_id``; shard 0
        without one); returns its sequence number."""
        session = self._session_holding(data)
        if session is None:
            held = "no bot has identified on the gateway yet" if not self.sessions else "no session holds it"
            raise RuntimeError(f"cannot send {event} for guild {data.get('guild_id')}: {held}")
        seq = await session.dispatch(event, data)
        self._notify()
        return seq

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; discord.py then reconnects and RESUMEs."""
        if self._session is None or self._session.connection is None:
            raise RuntimeError("no live gateway connection")
        await self._session.connection.send({"op": OP_RECONNECT, "d": None})

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.bot_user.to_payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
            "user_settings": {},
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "guilds": [{"id": str(i), "unavailable": True} for i in self._guilds_held_by(session)],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "application": {"id": str(self.application_id), "flags": APPLICATION_FLAGS},
            "shard": session.identify.get("shard", [0, 1]),
            "_trace": ["fake-discord"],
        }

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(ws, zlib_stream=request.query.get("compress") == "zlib-stream")
        self._connections.add(conn)
        _log.info("gateway connection opened (%s)", request.query_string)
        try:
            await conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_gateway_payload(conn, json.loads(msg.data))
                    self._notify()
        finally:
            self._connections.discard(conn)
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            _log.info("gateway connection closed (code %s)", ws.close_code)
        return ws

    async def _on_gateway_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        self.gateway_received.append(payload)
        op, data = payload.get("op"), payload.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeat_times.append(time.monotonic())
            await conn.send({"op": OP_HEARTBEAT_ACK})
            self.heartbeat_acks += 1
        elif op == OP_IDENTIFY:
            await self._identify(conn, data)
        elif op == OP_RESUME:
            await self._resume(conn, data)
        elif op == OP_REQUEST_GUILD_MEMBERS and conn.session is not None:
            members = [u.member_payload() for u in self.users.values()]
            chunk = {"guild_id": data["guild_id"], "members": members, "chunk_index": 0, "chunk_count": 1}
            if data.get("nonce"):
                chunk["nonce"] = data["nonce"]
            await conn.session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
        elif op == OP_PRESENCE_UPDATE:
            _log.debug("presence update: %s", data)
        else:
            _log.warning("fake gateway: unhandled op %s: %s", op, payload)

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if self.token is not None and data.get("token") != self.token:
            await conn.ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        self.identifies.append(data)
        session = GatewaySession(identify=data, connection=conn)
        conn.session = self._session = session
        self.sessions = [s for s in self.sessions if s.shard != session.shard] + [session]
        await session.dispatch("READY", self._ready_payload(session))
        for guild_id in self._guilds_held_by(session):
            await session.dispatch("GUILD_CREATE", self.guild_payload(guild_id))

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        token_ok = self.token is None or data.get("token") == self.token
        if session is None or not token_ok:
            await conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        self.resumes += 1
        session.connection = conn
        conn.session = session
        await session.replay_after(int(data.get("seq") or 0))
        await session.dispatch("RESUMED", {"_trace": ["fake-discord"]})
