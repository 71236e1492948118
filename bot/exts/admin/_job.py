"""A long /ingest as a background job, reported in a channel message of the bot's own.

An interaction's token lasts 15 minutes, and a big file or many pages can take longer: a report sent
through the token would then be lost. So a job still running after `NOTICE_AFTER` seconds posts a
message in the channel, edits it as it goes and, at the end, with the result. That message is the bot's
own, editable for as long as it exists. A quick job answers privately, like any command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast

import discord

from bot.errors import describe
from bot.exts.admin._render import ingest_message
from bot.text import join_lines
from index import IngestReport

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger(__name__)

NOTICE_AFTER = 10.0  # seconds a job answers privately before it gets a channel message
UPDATE_EVERY = 5.0  # seconds between edits of that message: Discord rate-limits edits per channel
STOPPED = "What it stored before then stays; run it again for the rest (what is stored already is skipped)."


class IngestJob:
    """One /ingest: ``run`` it with the work, which calls `progress` at each step."""

    def __init__(self, interaction: discord.Interaction, what: str) -> None:
        self.interaction = interaction
        self.what = what
        self.step = "starting…"
        self.message: discord.Message | None = None
        self._shown_at = 0.0

    @property
    def _by(self) -> str:
        return f"/ingest of {self.what} by {self.interaction.user.mention}"

    def _progress_text(self) -> str:
        return f"{self._by}: {self.step}"

    async def progress(self, step: str) -> None:
        """The job's next step: shown in its channel message, if it has one, at most every UPDATE_EVERY s."""
        self.step = step
        loop = asyncio.get_running_loop()
        if self.message is None or loop.time() - self._shown_at < UPDATE_EVERY:
            return
        self._shown_at = loop.time()
        try:
            self.message = await self.message.edit(content=self._progress_text())
        except discord.HTTPException:
            log.warning("could not show the progress of %s", self._by, exc_info=True)

    async def run(self, work: Awaitable[IngestReport]) -> IngestReport | None:
        """The work's report; None when it failed after the job moved to the channel (the channel
        message says why). A failure before that is raised, and answered as any command's."""
        task = asyncio.ensure_future(work)
        metrics = cast("NewsBot", self.interaction.client).metrics
        metrics.ingest_started()
        try:
            await asyncio.wait({task}, timeout=NOTICE_AFTER)
            if task.done():
                report = task.result()
                await self.interaction.edit_original_response(content=ingest_message(report))
                return report
            await self._post_notice()
            try:
                report = await task
            except Exception as exc:
                why = describe(exc, "/ingest", self.interaction.user.id)
                await self._finish(join_lines([f"{self._by} failed:", why]))
                return None
            await self._finish(ingest_message(report, heading=f"{self._by} is done."))
            return report
        except asyncio.CancelledError:  # the bot is closing (`Admin.cog_unload`)
            await self._finish(f"{self._by} was stopped: the bot is shutting down. {STOPPED}")
            raise
        finally:
            metrics.ingest_ended(task)
            task.cancel()  # only if this was cancelled itself (the bot is closing): a no-op once done

    async def _post_notice(self) -> None:
        """The job's channel message, and a private note pointing at it (or saying there is none)."""
        channel = self.interaction.channel
        note = "This takes a while: I will tell you here when it is done."
        if isinstance(channel, discord.abc.Messageable):
            try:
                self.message = await channel.send(self._progress_text())
                self._shown_at = asyncio.get_running_loop().time()
                note = f"This takes a while: I show how it goes, and the result, in {self.message.jump_url}"
            except discord.HTTPException:  # no Send Messages permission there, most likely
                log.warning("could not post the progress of %s in its channel", self._by, exc_info=True)
        try:
            await self.interaction.edit_original_response(content=note)
        except discord.HTTPException:
            log.warning("could not tell the user where %s reports", self._by, exc_info=True)

    async def _finish(self, text: str) -> None:
        """The result in the channel message, and privately while the interaction's token lasts."""
        if self.message is not None:
            try:
                await self.message.edit(content=text)
            except discord.HTTPException:
                log.warning("could not show the result of %s in its channel", self._by, exc_info=True)
        if self.interaction.is_expired():
            return
        try:
            await self.interaction.edit_original_response(content=text)
        except discord.HTTPException as exc:  # 401 once the token expired: the channel message has it
            log.info("could not edit the reply to %s (%s)", self._by, exc.status)
