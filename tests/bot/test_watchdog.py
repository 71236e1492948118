"""The event-loop watchdog: a callback holding the loop is counted and named; an idle loop is not."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from bot.watchdog import LoopWatchdog


def hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # what a synchronous engine call made on the loop would do


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_callback_holding_the_loop_is_counted_once_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = LoopWatchdog(0.25)
    watchdog.start(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.2)  # a few pings answered first
        with caplog.at_level(logging.WARNING, logger="bot.watchdog"):
            hold_the_loop(0.4)
            await until(lambda: watchdog.blocks)
            await asyncio.sleep(0.3)  # the loop answers again: no second block for the same one
    finally:
        watchdog.stop()
    assert watchdog.blocks == 1
    assert 0.25 < watchdog.longest < 5.0
    [record] = [r for r in caplog.records if r.name == "bot.watchdog"]
    assert "held the event loop" in record.getMessage()
    assert "in hold_the_loop" in record.getMessage()  # the stack names who held it
    assert "time.sleep(seconds)" in record.getMessage()
    assert "run_forever" not in record.getMessage()  # the loop's own frames are left out


async def test_an_idle_loop_is_no_block(caplog: pytest.LogCaptureFixture) -> None:
    watchdog = LoopWatchdog(0.25)
    with caplog.at_level(logging.WARNING, logger="bot.watchdog"):
        watchdog.start(asyncio.get_running_loop())
        await asyncio.sleep(1.0)  # about twenty pings
        watchdog.stop()
    assert watchdog.blocks == 0
    assert 0.0 < watchdog.longest < 0.25  # every ping was answered, in time
    assert not [r for r in caplog.records if r.name == "bot.watchdog"]


async def test_stop_ends_the_thread_and_a_closed_loop_ends_it_too() -> None:
    watchdog = LoopWatchdog(0.25)
    watchdog.start(asyncio.get_running_loop())
    thread = watchdog._thread
    assert thread is not None and thread.is_alive()
    watchdog.stop()
    assert not thread.is_alive()

    loop = asyncio.new_event_loop()
    other = LoopWatchdog(0.25, interval_s=0.01)
    other.start(loop)
    loop.close()  # its next ping finds the loop closed
    thread = other._thread
    assert thread is not None
    await asyncio.to_thread(thread.join, 5.0)
    assert not thread.is_alive() and other.blocks == 0
