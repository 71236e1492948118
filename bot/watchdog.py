"""A thread that notices when something holds the bot's event loop, and says what.

Everything the bot does on Discord runs on one event loop: a callback that computes or blocks on it
(a synchronous engine call, a slow file read) stalls every command, button and heartbeat at once.
asyncio's own slow-callback report needs debug mode, which slows everything; this watchdog is cheap
enough to run always. A thread of its own pings the loop every ``interval_s``; a ping the loop has not
answered within ``threshold_s`` is a block, and the warning it logs carries the loop thread's stack as
it was then, which names the function that held the loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback

log = logging.getLogger(__name__)

HANDLE_FILE = os.path.join("asyncio", "events.py")  # where a loop runs each callback (`Handle._run`)


class LoopWatchdog:
    """Counts the times the loop answered a ping later than ``threshold_s`` (`blocks`) and the longest
    any ping waited, late or not (`longest`, seconds); written by the watchdog thread only, read from
    anywhere."""

    def __init__(self, threshold_s: float, *, interval_s: float = 0.05, still_every_s: float = 10.0) -> None:
        self.threshold_s = threshold_s
        self.interval_s = interval_s
        self.still_every_s = still_every_s  # a loop held this long is reported again (a deadlock, a hang)
        self.blocks = 0
        self.longest = 0.0
        self._stop = threading.Event()
        self._pong = threading.Event()  # the ping in flight; `stop` sets it to wake the thread at once
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch ``loop`` until `stop` (or until the loop closes)."""
        if self._thread is not None:
            raise RuntimeError("this LoopWatchdog is already watching a loop")
        try:
            if asyncio.get_running_loop() is loop:
                self._loop_thread = threading.get_ident()  # else the first answered ping tells it
        except RuntimeError:
            pass
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, args=(loop,), name="loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching: the thread is woken, ends without counting the ping in flight, and is joined."""
        self._stop.set()
        self._pong.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def _answer(self, pong: threading.Event) -> None:
        """The ping's callback, run by the loop."""
        self._loop_thread = threading.get_ident()
        pong.set()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        while not self._stop.is_set():
            pong = self._pong = threading.Event()
            sent = time.monotonic()
            try:
                loop.call_soon_threadsafe(self._answer, pong)
            except RuntimeError:  # the loop is closed: nothing left to watch
                return
            if not self._wait(loop, pong, sent) or self._stop.wait(self.interval_s):
                return

    def _wait(self, loop: asyncio.AbstractEventLoop, pong: threading.Event, sent: float) -> bool:
        """Until the loop answers the ping sent at ``sent``; a late answer is a block, reported. False
        when watching is over: `stop`, or the loop closed."""
        if pong.wait(self.threshold_s):
            self.longest = max(self.longest, time.monotonic() - sent)
            return True
        stack, told = self._stack(), time.monotonic()  # now, while the callback still holds the loop
        idle = not loop.is_running()  # a loop stopped between runs is held by no one
        while not pong.wait(self.interval_s):
            if self._stop.is_set() or loop.is_closed():
                return False
            idle = idle or not loop.is_running()
            if not idle and time.monotonic() - told >= self.still_every_s:
                told = time.monotonic()
                log.warning(
                    "the event loop is still blocked, for %.1f s now; it is running:\n%s",
                    told - sent,
                    self._stack(),
                )
        if self._stop.is_set():
            return False
        if not idle:
            self._count(time.monotonic() - sent, stack)
        return True

    def _count(self, held: float, stack: str) -> None:
        self.blocks += 1
        self.longest = max(self.longest, held)
        log.warning(
            "a callback held the event loop for %.0f ms (NEWSBOT_LOOP_BLOCK_MS=%.0f): commands, buttons "
            "and heartbeats all waited; it was running:\n%s",
            held * 1000,
            self.threshold_s * 1000,
            stack,
        )

    def _stack(self) -> str:
        """The loop thread's stack from the callback it is running: the loop's own frames are left out."""
        frame = sys._current_frames().get(self._loop_thread) if self._loop_thread is not None else None
        if frame is None:
            return "(the loop's stack is unknown)"
        frames = traceback.extract_stack(frame)
        runs = [n for n, f in enumerate(frames) if f.name == "_run" and f.filename.endswith(HANDLE_FILE)]
        return "".join(traceback.format_list(frames[runs[-1] + 1 :] if runs else frames))
