"""Gateway websocket plumbing: one `GatewayConnection` per socket, one `GatewaySession` per IDENTIFY.

Sessions outlive sockets so the client can RESUME after a reconnect and receive the events that
were dispatched while it was away, which is how the real gateway behaves.
"""

from __future__ import annotations

import json
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

CLOSE_AUTHENTICATION_FAILED = 4004


class GatewayConnection:
    """One websocket. Honours ``compress=zlib-stream`` the way Discord does (one shared deflate stream)."""

    def __init__(self, ws: web.WebSocketResponse, *, zlib_stream: bool) -> None:
        self.ws = ws
        self._compressor = zlib.compressobj() if zlib_stream else None
        self.session: GatewaySession | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        if self.ws.closed:
            _log.debug("dropping gateway payload op=%s: socket closed", payload.get("op"))
            return
        raw = json.dumps(payload, separators=(",", ":"))
        if self._compressor is None:
            await self.ws.send_str(raw)
        else:
            data = self._compressor.compress(raw.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)


@dataclass
class GatewaySession:
    """Logical session: sequence numbers and the replay buffer used by RESUME."""

    identify: dict[str, Any]
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: GatewayConnection | None = None

    @property
    def intents(self) -> int:
        return int(self.identify.get("intents", 0))

    @property
    def shard(self) -> tuple[int, int]:
        """``(shard id, shard count)`` as identified; an unsharded client holds every guild, ``(0, 1)``."""
        shard_id, count = self.identify.get("shard") or (0, 1)
        return int(shard_id), int(count)

    def holds(self, guild_id: int | None) -> bool:
        """Whether Discord routes ``guild_id``'s events here: ``(guild_id >> 22) % count == shard id``;
        direct messages (no guild) go to shard 0."""
        shard_id, count = self.shard
        return ((guild_id or 0) >> 22) % count == shard_id

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Sequence and send one event; buffered for replay if the socket is currently gone."""
        self.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data}
        self.sent.append(payload)
        if self.connection is not None:
            await self.connection.send(payload)
        else:
            _log.debug("buffering %s (seq %s) until the client resumes", event, self.seq)
        return self.seq

    async def replay_after(self, seq: int) -> None:
        assert self.connection is not None
        for payload in self.sent:
            if payload["s"] > seq:
                await self.connection.send(payload)
