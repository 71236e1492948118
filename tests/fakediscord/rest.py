"""REST half of the fake: request records, Discord-style errors and the route handlers.

Handlers enforce the Discord rules that bots trip over in production (message length and embed
limits, empty messages, answering an interaction twice or too late, followups before the
acknowledgement) so those bugs fail tests instead of only failing live.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .payloads import FLAG_EPHEMERAL, FLAG_LOADING, application_payload, iso_now

if TYPE_CHECKING:
    from .server import FakeDiscord, FakeInteraction

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_AUTOCOMPLETE_CHOICES = 25
EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
EMBED_FIELD_LIMITS = {"name": 256, "value": 1024}
MAX_EMBED_FIELDS = 25

# Callback types an interaction type may answer with (interaction type -> allowed callback types).
ALLOWED_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One REST call as the bot made it; ``path`` is relative to the API base (``/api/v10``)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    time: float
    status: int = 0
    response: Any = None
    route: str | None = None


class Reply(NamedTuple):
    status: int
    body: Any = None


class ApiError(Exception):
    """Raised by handlers; rendered as Discord's JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def _error_leaf(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _invalid_form(errors: dict[str, Any]) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", errors)


def _max_length(limit: int) -> dict[str, Any]:
    return _error_leaf("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _embed_errors(embed: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Per-embed errors plus the embed's character count towards the 6000 total."""
    errors: dict[str, Any] = {}
    total = 0
    for key, limit in EMBED_TEXT_LIMITS.items():
        text = embed.get(key) or ""
        total += len(text)
        if len(text) > limit:
            errors[key] = _max_length(limit)
    for key, limit in (("footer", 2048), ("author", 256)):
        text = (embed.get(key) or {}).get("text" if key == "footer" else "name") or ""
        total += len(text)
        if len(text) > limit:
            errors[key] = {("text" if key == "footer" else "name"): _max_length(limit)}
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        errors["fields"] = _max_length(MAX_EMBED_FIELDS)
    field_errors: dict[str, Any] = {}
    for index, embed_field in enumerate(fields):
        this: dict[str, Any] = {}
        for key, limit in EMBED_FIELD_LIMITS.items():
            text = embed_field.get(key) or ""
            total += len(text)
            if not text:
                this[key] = _error_leaf("BASE_TYPE_REQUIRED", "This field is required")
            elif len(text) > limit:
                this[key] = _max_length(limit)
        if this:
            field_errors[str(index)] = this
    if field_errors:
        errors.setdefault("fields", {}).update(field_errors)
    return errors, total


def validate_message(body: dict[str, Any], files: list[UploadedFile], *, partial: bool = False) -> None:
    """Discord's create/edit message checks; ``partial`` (edits) skips the empty-message rule."""
    errors: dict[str, Any] = {}
    content = body.get("content") or ""
    if len(content) > MAX_CONTENT:
        errors["content"] = _max_length(MAX_CONTENT)
    embeds = body.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors["embeds"] = _max_length(MAX_EMBEDS)
    total = 0
    embed_errors: dict[str, Any] = {}
    for index, embed in enumerate(embeds):
        this, size = _embed_errors(embed)
        total += size
        if this:
            embed_errors[str(index)] = this
    if embed_errors:
        errors.setdefault("embeds", {}).update(embed_errors)
    elif total > MAX_EMBED_TOTAL:
        errors["embeds"] = _error_leaf(
            "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
        )
    if errors:
        raise _invalid_form(errors)
    has_body = (
        content or embeds or files or body.get("components") or body.get("sticker_ids") or body.get("poll")
    )
    if not partial and not has_body:
        raise ApiError(400, 50006, "Cannot send an empty message")


def validate_choices(data: dict[str, Any]) -> None:
    choices = data.get("choices")
    if choices is None:
        raise _invalid_form(
            {"data": {"choices": _error_leaf("BASE_TYPE_REQUIRED", "This field is required")}}
        )
    if len(choices) > MAX_AUTOCOMPLETE_CHOICES:
        raise _invalid_form({"data": {"choices": _max_length(MAX_AUTOCOMPLETE_CHOICES)}})
    errors: dict[str, Any] = {}
    for index, choice in enumerate(choices):
        name = choice.get("name") or ""
        if not 1 <= len(name) <= 100:
            errors[str(index)] = {
                "name": _error_leaf("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            }
        elif isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
            errors[str(index)] = {"value": _max_length(100)}
    if errors:
        raise _invalid_form({"data": {"choices": errors}})


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true")


Handler = Callable[..., Awaitable[Reply]]

# "{name}" is a snowflake, "{token}" any path segment, "{name|alt}" a snowflake or the literal alt.
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|([^}]+))?\}")


def _placeholder_regex(match: re.Match[str]) -> str:
    name, alternative = match.groups()
    value = r"[^/]+" if name == "token" else r"\d+"
    if alternative:
        value = f"{re.escape(alternative)}|{value}"
    return f"(?P<{name}>{value})"


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool


@dataclass
class RestApi:
    """Route table and handlers; state lives on the owning `FakeDiscord`."""

    fake: FakeDiscord
    routes: list[Route] = field(init=False)

    def __post_init__(self) -> None:
        wh_message = "/webhooks/{app}/{token}/messages/{message|@original}"
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self.get_me, True),
            ("POST", "/users/@me/channels", self.create_dm, True),
            ("GET", "/oauth2/applications/@me", self.get_application, True),
            ("GET", "/gateway", self.get_gateway, False),
            ("GET", "/gateway/bot", self.get_gateway_bot, True),
            ("GET", "/applications/{app}/commands", self.get_commands, True),
            ("PUT", "/applications/{app}/commands", self.put_commands, True),
            ("POST", "/applications/{app}/commands", self.upsert_command, True),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self.get_commands, True),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self.put_commands, True),
            ("POST", "/applications/{app}/guilds/{guild}/commands", self.upsert_command, True),
            ("POST", "/interactions/{interaction}/{token}/callback", self.interaction_callback, False),
            ("POST", "/webhooks/{app}/{token}", self.execute_webhook, False),
            ("GET", wh_message, self.get_wh_msg, False),
            ("PATCH", wh_message, self.edit_wh_msg, False),
            ("DELETE", wh_message, self.del_wh_msg, False),
            ("GET", "/channels/{channel}", self.get_channel, True),
            ("GET", "/channels/{channel}/messages", self.get_history, True),
            ("POST", "/channels/{channel}/messages", self.create_message, True),
            ("GET", "/channels/{channel}/messages/{message}", self.get_message, True),
            ("PATCH", "/channels/{channel}/messages/{message}", self.edit_message, True),
            ("DELETE", "/channels/{channel}/messages/{message}", self.delete_message, True),
            ("POST", "/channels/{channel}/typing", self.typing, True),
            ("DELETE", "/users/@me/guilds/{guild}", self.leave_guild, True),
        ]
        self.routes = [
            Route(method, re.compile(_PLACEHOLDER.sub(_placeholder_regex, path)), handler, auth)
            for method, path, handler, auth in table
        ]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method and (m := route.pattern.fullmatch(path)):
                return route, m.groupdict()
        return None

    # -- identity -----------------------------------------------------------------------------

    async def get_me(self, req: RecordedRequest) -> Reply:
        data = self.fake.bot_user.to_payload() | {
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "locale": "en-US",
            "email": None,
        }
        return Reply(200, data)

    async def get_application(self, req: RecordedRequest) -> Reply:
        fake = self.fake
        return Reply(200, application_payload(fake.application_id, fake.bot_user, fake.owner_user))

    async def get_gateway(self, req: RecordedRequest) -> Reply:
        return Reply(200, {"url": self.fake.gateway_url})

    async def get_gateway_bot(self, req: RecordedRequest) -> Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        return Reply(200, {"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit})

    async def create_dm(self, req: RecordedRequest) -> Reply:
        user = self.fake.user(int(req.json["recipient_id"]))
        return Reply(200, self.fake.dm_channel(user))

    # -- application commands -----------------------------------------------------------------

    def _scope(self, app: str, guild: str | None) -> int | None:
        if int(app) != self.fake.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if guild is None:
            return None
        if int(guild) not in self.fake.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return int(guild)

    async def get_commands(self, req: RecordedRequest, app: str, guild: str | None = None) -> Reply:
        return Reply(200, self.fake.commands(self._scope(app, guild)))

    async def put_commands(self, req: RecordedRequest, app: str, guild: str | None = None) -> Reply:
        return Reply(
            200, self.fake.store_commands(self._scope(app, guild), list(req.json or []), replace=True)
        )

    async def upsert_command(self, req: RecordedRequest, app: str, guild: str | None = None) -> Reply:
        return Reply(200, self.fake.store_commands(self._scope(app, guild), [req.json], replace=False)[0])

    # -- interactions ---------------------------------------------------------------------------

    async def interaction_callback(self, req: RecordedRequest, interaction: str, token: str) -> Reply:
        fake = self.fake
        ix = fake.interactions.get(int(interaction))
        if ix is None or ix.token != token or fake.interaction_expired(ix):
            raise ApiError(404, 10062, "Unknown interaction")
        if ix.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = req.json or {}
        cb_type = body.get("type")
        data: dict[str, Any] = body.get("data") or {}
        if cb_type not in ALLOWED_CALLBACKS[ix.type]:
            raise _invalid_form(
                {
                    "type": _error_leaf(
                        "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"
                    )
                }
            )
        message: dict[str, Any] | None = None
        if cb_type == 4:
            try:
                validate_message(data, req.files)
            except ApiError as exc:
                if "errors" in exc.body:
                    exc.body["errors"] = {"data": exc.body["errors"]}
                raise
            message = await fake.create_bot_message(ix.channel_id, data, req.files, interaction=ix)
        elif cb_type == 5:
            flags = FLAG_LOADING | (data.get("flags", 0) & FLAG_EPHEMERAL)
            message = await fake.create_bot_message(ix.channel_id, {"flags": flags}, [], interaction=ix)
        elif cb_type in (6, 7):
            if ix.message_id is None:
                raise _invalid_form({"type": _error_leaf("INTERACTION_RESPONSE_TYPE_INVALID", "No message")})
            ix.original_id = ix.message_id
            if cb_type == 7:
                validate_message(data, req.files, partial=True)
                message = await fake.edit_bot_message(ix.message_id, data, req.files)
        elif cb_type == 8:
            validate_choices(data)
        elif cb_type == 9 and not (data.get("custom_id") and data.get("title") and data.get("components")):
            raise _invalid_form({"data": _error_leaf("BASE_TYPE_REQUIRED", "custom_id, title, components")})
        ix.callbacks.append({"type": cb_type, "data": data})
        if not _truthy(req.query.get("with_response")):
            return Reply(204)
        return Reply(200, self._callback_response(ix, cb_type, message))

    @staticmethod
    def _callback_response(
        ix: FakeInteraction, cb_type: int, message: dict[str, Any] | None
    ) -> dict[str, Any]:
        flags = message["flags"] if message else 0
        interaction: dict[str, Any] = {
            "id": str(ix.id),
            "type": ix.type,
            "response_message_loading": bool(flags & FLAG_LOADING),
            "response_message_ephemeral": bool(flags & FLAG_EPHEMERAL),
        }
        resource: dict[str, Any] = {"type": cb_type}
        if message is not None:
            interaction["response_message_id"] = message["id"]
            resource["message"] = message
        return {"interaction": interaction, "resource": resource}

    def _webhook_interaction(self, app: str, token: str) -> FakeInteraction:
        ix = self.fake.interaction_by_token(token)
        if int(app) != self.fake.application_id or ix is None or not ix.callbacks:
            # Followups only exist after the interaction was acknowledged.
            raise ApiError(404, 10015, "Unknown Webhook")
        if self.fake.token_expired(ix):
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return ix

    def _webhook_message(self, ix: FakeInteraction, message: str) -> dict[str, Any]:
        message_id = ix.original_id if message == "@original" else int(message)
        if message_id is None or message_id not in ix.message_ids():
            raise ApiError(404, 10008, "Unknown Message")
        return self.fake.get_message(message_id)

    async def execute_webhook(self, req: RecordedRequest, app: str, token: str) -> Reply:
        ix = self._webhook_interaction(app, token)
        body = req.json or {}
        validate_message(body, req.files)
        message = await self.fake.create_bot_message(
            ix.channel_id, body, req.files, interaction=ix, followup=True
        )
        ix.followup_ids.append(int(message["id"]))
        return Reply(200, message) if _truthy(req.query.get("wait")) else Reply(204)

    async def get_wh_msg(self, req: RecordedRequest, app: str, token: str, message: str) -> Reply:
        ix = self._webhook_interaction(app, token)
        return Reply(200, self._webhook_message(ix, message))

    async def edit_wh_msg(self, req: RecordedRequest, app: str, token: str, message: str) -> Reply:
        ix = self._webhook_interaction(app, token)
        target = self._webhook_message(ix, message)
        body = req.json or {}
        validate_message(body, req.files, partial=True)
        edited = await self.fake.edit_bot_message(int(target["id"]), body, req.files)
        return Reply(200, edited)

    async def del_wh_msg(self, req: RecordedRequest, app: str, token: str, message: str) -> Reply:
        ix = self._webhook_interaction(app, token)
        target = self._webhook_message(ix, message)
        await self.fake.delete_message(int(target["id"]))
        return Reply(204)

    # -- channels -------------------------------------------------------------------------------

    async def get_channel(self, req: RecordedRequest, channel: str) -> Reply:
        return Reply(200, self.fake.channel(int(channel)))

    async def get_history(self, req: RecordedRequest, channel: str) -> Reply:
        self.fake.channel(int(channel))
        limit = min(int(req.query.get("limit", 50)), 100)
        before = int(req.query.get("before", 0)) or None
        messages = [m for m in self.fake.messages_in(int(channel)) if before is None or int(m["id"]) < before]
        return Reply(200, list(reversed(messages))[:limit])

    async def create_message(self, req: RecordedRequest, channel: str) -> Reply:
        self.fake.channel(int(channel))
        body = req.json or {}
        validate_message(body, req.files)
        return Reply(200, await self.fake.create_bot_message(int(channel), body, req.files))

    def _channel_message(self, channel: str, message: str) -> dict[str, Any]:
        self.fake.channel(int(channel))
        found = self.fake.get_message(int(message))
        if found["channel_id"] != channel:
            raise ApiError(404, 10008, "Unknown Message")
        return found

    async def get_message(self, req: RecordedRequest, channel: str, message: str) -> Reply:
        return Reply(200, self._channel_message(channel, message))

    async def edit_message(self, req: RecordedRequest, channel: str, message: str) -> Reply:
        found = self._channel_message(channel, message)
        if found["author"]["id"] != str(self.fake.bot_user.id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = req.json or {}
        validate_message(body, req.files, partial=True)
        return Reply(200, await self.fake.edit_bot_message(int(message), body, req.files))

    async def delete_message(self, req: RecordedRequest, channel: str, message: str) -> Reply:
        found = self._channel_message(channel, message)
        if found["author"]["id"] != str(self.fake.bot_user.id):
            raise ApiError(403, 50013, "Missing Permissions")
        await self.fake.delete_message(int(message))
        return Reply(204)

    async def typing(self, req: RecordedRequest, channel: str) -> Reply:
        self.fake.channel(int(channel))
        return Reply(204)

    async def leave_guild(self, req: RecordedRequest, guild: str) -> Reply:
        self.fake.left_guilds.append(int(guild))
        return Reply(204)


def apply_edit(message: dict[str, Any], body: dict[str, Any], attachments: list[dict[str, Any]]) -> None:
    """PATCH semantics: keys present in the body replace the message's; new files are appended."""
    for key in ("content", "embeds", "components"):
        if key in body:
            message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
    if "attachments" in body:
        keep = {str(a.get("id")) for a in body["attachments"] or []}
        message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
    message["attachments"] = message["attachments"] + attachments
    was_loading = message["flags"] & FLAG_LOADING
    message["flags"] &= ~FLAG_LOADING
    if "flags" in body and body["flags"] is not None:
        message["flags"] = (message["flags"] & FLAG_EPHEMERAL) | (body["flags"] & ~FLAG_EPHEMERAL)
    if not was_loading:
        message["edited_timestamp"] = iso_now()
