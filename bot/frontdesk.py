"""The front desk itself: `receive(message) -> Reply`, knowing nothing of HTTP.

- A message is claimed in the store before it is handled, so a WeChat retry (same MsgId, or
  for events the same sender + time) is answered with the first reply and never handled twice.
- One resident's messages are handled one at a time, and their dialog is read inside that lock —
  across workers too (`Store.hold`: a Redis lock, or an advisory lock on PostgreSQL).
- A resident sending more than `[dialog] max_messages_per_minute` is asked to slow down.
- What WeChat reports without the resident asking anything (a VIEW, a template message's
  report, the location sent as the chat opens …) is recorded and answered with an empty body:
  it neither records the resident as writing (nor brings back one who left) nor counts toward
  their rate limit.
- When Redis (which keeps dialogs, if configured) does not answer, guide questions are still
  answered and a step of a dialog says plainly that it cannot continue now.
- If the answer is not ready within the deadline, the resident is told to wait a moment and the
  answer follows through the customer-service API (the outbox).
- Any error is logged with its traceback and the resident gets a kind apology, never silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import timedelta

from bot.context import Context, Turn
from bot.messages import Inbound, MenuClick, Text, Unsubscribe, Voice
from bot.metrics import Metrics
from bot.replies import NoReply, Reply, TextReply
from bot.router import BACK_WORDS, RootRouter
from bot.store.redis import StateUnavailable

log = logging.getLogger(__name__)

# A message claimed this long ago without a reply was lost with its process (a crash or kill);
# WeChat's retry is then handled afresh. Answers that run late are recorded long before this.
ABANDONED_AFTER = 10
EXIT_WORDS = ("取消", "退出", "不办了", "算了", "退出办理", "不约了")


class FrontDesk:
    def __init__(self, ctx: Context, root: RootRouter, metrics: Metrics):
        self.ctx = ctx
        self.root = root
        self.metrics = metrics
        self._inflight: dict[str, asyncio.Task[Reply]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._waiting: defaultdict[str, int] = defaultdict(int)
        self._background: set[asyncio.Task] = set()

    # -- delivery: de-duplication and the deadline ------------------------------------------

    async def receive(self, message: Inbound, deadline: float) -> Reply:
        try:
            return await self._receive(message, deadline)
        except Exception:  # the store itself failed: apologise rather than leave WeChat hanging
            log.exception("could not take %s from %s", message.dedup_key, message.openid)
            self.metrics.errors.inc()
            return TextReply(self.ctx.texts.chat("error")) if message.needs_answer else NoReply()

    async def _receive(self, message: Inbound, deadline: float) -> Reply:
        store = self.ctx.store
        key = message.dedup_key
        now = self.ctx.clock.now()
        if not await store.messages.claim(key, message.openid, now):
            abandoned = key not in self._inflight and await store.messages.take_over(
                key, now, now - timedelta(seconds=ABANDONED_AFTER))
            if not abandoned:
                return await self._retry(key, deadline)
            log.warning("%s was claimed but never answered; handling it again", key)
        task = asyncio.create_task(self._answer_and_record(message))
        self._inflight[key] = task
        task.add_done_callback(lambda _: self._inflight.pop(key, None))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), deadline)
        except TimeoutError:
            reply = TextReply(self.ctx.texts.chat("please_wait")) if message.needs_answer else NoReply()
            await store.messages.answered(key, reply.to_json())
            self._spawn(self._deliver_late(message, task))
            self.metrics.deferred.inc()
            return reply
        await self._queue_more(message.openid, reply)
        await store.messages.answered(key, reply.to_json())
        return reply

    async def _retry(self, key: str, deadline: float) -> Reply:
        """The same message again: the first reply, once there is one."""
        self.metrics.retries.inc()
        task = self._inflight.get(key)
        if task is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(task), deadline)
            except TimeoutError:
                return NoReply()
        _, stored = await self.ctx.store.messages.reply_for(key)
        return Reply.from_json(stored) if stored else NoReply()

    async def _answer_and_record(self, message: Inbound) -> Reply:
        started = time.perf_counter()
        reply = await self.answer(message)
        self.metrics.latency.observe(time.perf_counter() - started)
        return reply

    async def _deliver_late(self, message: Inbound, task: asyncio.Task[Reply]) -> None:
        reply = await task
        if isinstance(reply, TextReply):
            await self.ctx.store.outbox.add(message.openid, [reply.text, *reply.more], self.ctx.clock.now())

    async def _queue_more(self, openid: str, reply: Reply) -> None:
        if isinstance(reply, TextReply) and reply.more:
            await self.ctx.store.outbox.add(openid, list(reply.more), self.ctx.clock.now())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for answers still being delivered late (at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- answering: one resident at a time ---------------------------------------------------

    async def answer(self, message: Inbound) -> Reply:
        openid = message.openid
        self._waiting[openid] += 1
        try:
            # this process's lock first, then every worker's: a resident's next message, wherever
            # it arrives, waits until this one's dialog is written
            async with self._locks[openid], self.ctx.store.hold(f"dialog:{openid}"):
                return await self._answer_locked(message)
        finally:
            self._waiting[openid] -= 1
            if not self._waiting[openid]:
                del self._waiting[openid]
                self._locks.pop(openid, None)

    async def _answer_locked(self, message: Inbound) -> Reply:
        ctx = self.ctx
        turn = Turn(ctx=ctx, message=message)
        try:
            if isinstance(message, Unsubscribe):
                await ctx.store.residents.unsubscribed(message.openid, ctx.clock.now())
                self.metrics.count(message, "none", "none")
                return NoReply()
            if not message.needs_answer:
                if message.grants:   # no answer, but WeChat lets us write to the resident again
                    await ctx.store.residents.acted(message.openid, message.grants, ctx.clock.now())
                return await self._record_quietly(turn)
            await ctx.store.residents.seen(message.openid, ctx.clock.now(), message.grants or "message")
            if not await ctx.store.allow(f"messages:{message.openid}", ctx.config.dialog.max_messages_per_minute,
                                         ctx.clock.now()):
                self.metrics.count(message, "none", "too_fast")
                return TextReply(ctx.texts.chat("too_fast"))
            try:
                turn.dialog = await ctx.store.dialogs.get(message.openid, ctx.clock.now(), ctx.dialog_idle)
            except StateUnavailable:
                turn.state_unread = True
            reply = await self._route(turn)
            if self._step_lost(turn):
                log.warning("dialog of %s unavailable; told the resident", message.openid)
                return TextReply(ctx.texts.chat("dialog_unavailable"))
        except Exception:
            log.exception("failed to answer %s from %s", type(message).__name__, message.openid)
            self.metrics.errors.inc()
            return TextReply(ctx.texts.chat("error"))
        if reply is None:
            log.error("no handler answered %r; replying with the help text", message)
            reply = turn.say("help")
        match = turn.match
        self.metrics.count(message, turn.intent or "none", match.decision if match else "none")
        return reply

    async def _record_quietly(self, turn: Turn) -> Reply:
        """An event that needs no answer: its handler records what it says; WeChat gets an empty
        body even when that fails (the failure is logged), and the resident hears nothing."""
        try:
            await self.root.for_kind(turn)
        except Exception:
            log.exception("failed to record %s from %s", type(turn.message).__name__, turn.openid)
            self.metrics.errors.inc()
        self.metrics.count(turn.message, "none", "none")
        return NoReply()

    @staticmethod
    def _step_lost(turn: Turn) -> bool:
        """Without its dialog (Redis away), does the reply still stand? A guide answer does, and so
        does an action asked for in so many words (转人工, 投诉 …) that needed no next step; a
        message that may have answered a step, or a reply that starts one, does not."""
        if turn.intent == "guide" and turn.match is not None and turn.match.decision in ("answer", "refer"):
            return False   # the answer is whole; only a follow-up like 要钱吗 loses its context
        return turn.state_unkept or (turn.state_unread and turn.intent in (None, "guide", "unknown"))

    async def _route(self, turn: Turn) -> Reply | None:
        message = turn.message
        if isinstance(message, Text):
            turn.text = message.content.strip()
        elif isinstance(message, Voice) and message.recognition:
            turn.text = message.recognition
        elif isinstance(message, MenuClick):
            turn.intent = turn.ctx.library.knowledge.menu.get(message.key)
            if turn.intent is None:
                log.warning("menu key %r is not mapped to an intent", message.key)
                return turn.say("help")
            await turn.leave()
            return await self.root.for_intent(turn)
        else:
            return await self.root.for_kind(turn)

        if not turn.text:
            return turn.say("help")
        said = turn.text.strip("。.!！ ")
        if turn.dialog is not None and said in BACK_WORDS and (reply := await self.root.for_back(turn)):
            return reply
        if turn.dialog is not None and (said in EXIT_WORDS or said in BACK_WORDS):
            await turn.leave()
            return turn.say("dialog_left")
        if (reply := await self.root.for_state(turn)) is not None:
            return reply
        turn.match = match = turn.ctx.library.matcher.match(turn.text)
        turn.intent = match.intent
        best = match.best
        await turn.ctx.store.inquiries.log(  # 首问登记: stored with any phone or ID number masked
            openid=turn.openid, question=turn.text[:500], intent=match.intent,
            guide=best.name if best else None, score=best.score if best else None,
            decision=match.decision, at=turn.ctx.clock.now(), default_center=turn.ctx.config.service.default_center)
        return await self.root.for_intent(turn)
