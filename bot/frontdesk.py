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
- A message that needs an answer is kept (encrypted) with its claim until its answer is recorded
  or queued, and the claim is renewed while a late answer is worked on: when the worker dies
  meanwhile, the restart or another worker finds the stale claim (`finish_unanswered`, run every
  few seconds), answers the message and pushes the answer, so no resident told 请稍等 is left
  without one.
- Any error is logged with its traceback and the resident gets a kind apology, never silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import timedelta

from bot.context import Context, Turn
from bot.messages import Inbound, MenuClick, Text, Unsubscribe, Voice, from_json, to_json
from bot.metrics import Metrics
from bot.replies import NoReply, Reply, TextReply
from bot.router import BACK_WORDS, RootRouter
from bot.steps import ENDS_STEPS, MISSES, Steps, back_into, leaves, puts_off, wants_back_in, wants_out
from bot.store.redis import StateUnavailable
from bot.tone import kindly
from bot.vault import SealBroken

log = logging.getLogger(__name__)

# A message claimed this long ago without a reply was lost with its process (a crash or kill);
# WeChat's retry is then handled afresh. An answer that runs late renews its claim meanwhile; one
# whose claim is this old without its answer recorded is answered again and pushed.
ABANDONED_AFTER = 10
RENEW_EVERY = ABANDONED_AFTER / 3   # a late answer being worked on keeps its claim fresh


class FrontDesk:
    def __init__(self, ctx: Context, root: RootRouter, metrics: Metrics):
        self.ctx = ctx
        self.root = root
        self.steps = Steps(root)
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
        if not await store.messages.claim(key, message.openid, now, self._kept(message)):
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
            await store.messages.answered(key, reply.to_json(), final=False)
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
        reply = await self._keeping_claim(message.dedup_key, task)
        if isinstance(reply, TextReply):
            await self.ctx.store.outbox.add(message.openid, [reply.text, *reply.more], self.ctx.clock.now())
        await self.ctx.store.messages.finished(message.dedup_key)

    async def _keeping_claim(self, key: str, task: asyncio.Task[Reply]) -> Reply:
        """The answer, the message's claim renewed while it is worked on."""
        while True:
            done, _ = await asyncio.wait({task}, timeout=RENEW_EVERY)
            if done:
                return task.result()
            await self.ctx.store.messages.renew(key, self.ctx.clock.now())

    def _kept(self, message: Inbound) -> str | None:
        """The message as kept with its claim until answered: encrypted, it may hold a 身份证号."""
        if not message.needs_answer:
            return None
        vault = self.ctx.store.vault
        return vault.seal(to_json(message)) if vault is not None else to_json(message)

    async def finish_unanswered(self) -> int:
        """Answer the messages whose worker died before their answer was recorded (their claim
        not renewed for `ABANDONED_AFTER` seconds), pushing each answer; how many were."""
        store, finished = self.ctx.store, 0
        now = self.ctx.clock.now()
        stale = now - timedelta(seconds=ABANDONED_AFTER)
        for key, kept in await store.messages.unfinished(stale):
            if key in self._inflight or not await store.messages.resume(key, now, stale):
                continue
            try:
                message = from_json(store.vault.open(kept) if store.vault is not None else kept)
            except (SealBroken, ValueError, KeyError, TypeError):
                log.exception("%s was claimed but never answered, and cannot be read again; given up", key)
                await store.messages.finished(key)
                continue
            log.warning("%s was claimed but its answer never recorded; answering it now", key)
            await self._deliver_late(message, asyncio.create_task(self._answer_and_record(message)))
            self.metrics.deferred.inc()
            finished += 1
        return finished

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
            # recorded, and what is read next, in one trip where the store can
            arrival = await ctx.store.residents.arrived(message.openid, ctx.clock.now(), ctx.dialog_idle,
                                                        message.grants or "message")
            # a flood is slowed whoever would read it: the bot, or a clerk in a conversation
            if not await ctx.store.allow(f"messages:{message.openid}", ctx.config.dialog.max_messages_per_minute,
                                         ctx.clock.now()):
                self.metrics.count(message, "none", "too_fast")
                return TextReply(ctx.texts.chat("too_fast"))
            if arrival.talking and (relayed := await self.root.for_relay(turn)) is not None:   # with a person
                self.metrics.count(message, "handoff", "relay")
                return relayed
            try:
                turn.dialog = await arrival.dialog()
            except StateUnavailable:
                turn.state_unread = True
            reply = await kindly(turn, await self._route(turn))
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
        steps = self.steps
        in_step = turn.dialog is not None and self.root.resumable(turn.dialog.state)
        if in_step:
            if back_into(said, turn.dialog.state) and (reply := await self.root.for_ask(turn)) is not None:
                return reply   # 继续预约 in the middle of booking: the question of the step it is at
        elif wants_back_in(said) and (reply := await steps.resume(turn)) is not None:
            return reply
        if turn.dialog is not None and said in BACK_WORDS and (reply := await self.root.for_back(turn)):
            return reply
        if turn.dialog is not None and (wants_out(said) or said in BACK_WORDS):
            await turn.leave()
            return turn.say("dialog_left")
        if not in_step and puts_off(said):    # 不用了 after an answer: nothing to go on with
            await turn.leave()
            return turn.say("declined", thanks="谢" in said)
        if turn.dialog is not None:
            state, misses = turn.dialog.state, turn.dialog.data.get(MISSES, 0)
            reply = await self.root.for_state(turn)
            if not turn.missed:
                if reply is not None:
                    return reply
            elif puts_off(said):     # 以后再说 where the step asks something else: kept for later
                kept = await steps.keep(turn)
                await turn.leave()
                return steps.with_note(turn, turn.say("declined", thanks="谢" in said, later=True), kept)
            elif not await leaves(turn):
                return await steps.missed(turn, state, misses, reply)
            elif turn.match.intent in ENDS_STEPS.get(state.split(":")[0], ()):    # 取消预约 while booking
                await turn.leave()
                upcoming = await turn.ctx.store.bookings.upcoming(turn.openid, turn.ctx.clock.now())
                return turn.say("dialog_left", state=state, upcoming=len(upcoming))
            else:   # not an answer to the step but a request or a question of its own
                kept = await steps.keep(turn)
                await turn.leave()
                turn.missed = False
                reply = await self._match_and_answer(turn)
                if kept is not None and turn.dialog is not None and turn.dialog.state.split(":")[0] == kept.split(":")[0]:
                    await steps.forget(turn.openid, turn.ctx.store)   # the same request begun afresh
                    return reply
                return steps.with_note(turn, reply, kept)
        return await self._match_and_answer(turn)

    async def _match_and_answer(self, turn: Turn) -> Reply | None:
        turn.match = match = turn.match or await turn.ctx.library.match(turn.text)
        turn.intent = match.intent
        best = match.best
        if turn.state_unread and self._step_lost(turn):
            return await self.root.for_intent(turn)   # maybe the answer to a step (a 身份证号): not a question
        await turn.ctx.store.inquiries.log(  # 首问登记: stored with any phone or ID number masked
            openid=turn.openid, question=turn.text[:500], intent=match.intent,
            guide=best.name if best else None, score=best.score if best else None,
            decision=match.decision, at=turn.ctx.clock.now(), default_center=turn.ctx.config.service.default_center)
        return await self.root.for_intent(turn)
