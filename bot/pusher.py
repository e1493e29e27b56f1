"""Drains the outbox through the WeChat API, with retries and backoff: customer-service messages
while WeChat's quota for the resident allows (counted in the store, for every worker), template
messages for what does not fit.

Messages are written to the outbox by the same transaction that caused them; this task claims
a batch of them for a while (so a pusher in another worker leaves them alone) and renews the claim
on each just before sending it, so a batch may take longer than one lease and still no notice is
sent by two pushers; it sends each resident's in order, and when WeChat fails keeps trying for `RETRY_FOR` (a day: a WeChat outage of an hour must not
cost the resident their notice) with waits that grow to `LONGEST_WAIT`; it gives up on a message
(dead letter, for staff to call or resend) after that, or at once when WeChat says it can never be
delivered. A send whose outcome is unknown (a timeout: WeChat may have delivered it) is not tried
again at once but after `UNCERTAIN_WAIT`, so a slow WeChat does not make one notice arrive many times.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wechatpy.constants import WeChatErrorCode

from bot.clock import Clock
from bot.config import NOTICE_PARTS
from bot.errors import WeChatAPIError, WeChatUncertain
from bot.metrics import Metrics
from bot.store import Store
from bot.store.base import TOPIC, OutboxItem
from bot.texts import Texts
from bot.wechat.api import WeChatAPI

log = logging.getLogger(__name__)

# sends in flight at once, each to another resident, and notices claimed per round: WeChat
# answers in tens of milliseconds, so one send at a time leaves the pusher waiting most of it
IN_FLIGHT = 8
BATCH = 64
RETRY_FOR = timedelta(hours=24)
LONGEST_WAIT = timedelta(minutes=30)
UNCERTAIN_WAIT = timedelta(minutes=5)
NEVER_DELIVERABLE = {43004, 40003, 47003, 40037}  # not following us, bad openid, bad arguments, bad template
# WeChat's customer-service quota (since June 2023), by the resident's last action: their message
# allows 5 messages within 48 hours; a menu click, follow or scan 3 within a minute
CUSTOMER_SERVICE_QUOTA = {"message": (5, timedelta(hours=48)), "event": (3, timedelta(minutes=1))}
# WeChat refusing a customer-service message: outside the time (45015) or past the count (45047)
QUOTA_REFUSED = {WeChatErrorCode.OUT_OF_RESPONSE_TIME_LIMIT.value, WeChatErrorCode.OUT_OF_RESPONSE_COUNT_LIMIT.value}
# longest value WeChat takes in a category template's field, by the field name's kind
FIELD_LIMITS = {"thing": 20, "character_string": 32, "phrase": 5, "name": 10, "number": 32, "letter": 32}


@dataclass(frozen=True)
class NoticeTemplate:
    """The template message a notice goes out as when customer-service messages cannot carry it:
    which of the template's fields hold the case number, the matter, its status, the time and the
    words (`[wechat] notice_field_*`), each cut to what WeChat takes in a field of its kind."""

    template_id: str
    fields: dict[str, str]          # part of the notice (number, matter, status, time, content) → field
    texts: Texts
    service: str

    @classmethod
    def from_config(cls, wechat: Any, texts: Texts, service: str) -> "NoticeTemplate":
        return cls(template_id=wechat.notice_template_id, texts=texts, service=service,
                   fields={part: getattr(wechat, f"notice_field_{part}") for part in NOTICE_PARTS
                           if getattr(wechat, f"notice_field_{part}")})

    def data(self, item: OutboxItem, now: datetime) -> dict[str, str]:
        topic = item.topic if item.topic and set(TOPIC) <= set(item.topic) else dict(
            zip(TOPIC, self.texts.chat("notice_topic", case=None, to=None, service=self.service).splitlines()))
        parts = {**topic, "time": f"{now:%Y年%m月%d日 %H:%M}", "content": item.text}
        return {field: _fit(field, parts[part]) for part, field in self.fields.items()}


def _fit(field: str, value: str) -> str:
    kind = field.rstrip("0123456789")
    limit = FIELD_LIMITS.get(kind)
    if limit is None or len(value) <= limit:
        return value
    return value[:limit - 1] + "…"


class Pusher:
    def __init__(self, store: Store, api: WeChatAPI, clock: Clock, metrics: Metrics, idle_seconds: float = 0.5,
                 template: NoticeTemplate | None = None, lease: timedelta | None = None,
                 in_flight: int = IN_FLIGHT, batch: int = BATCH):
        self.template = template if template is not None and template.template_id else None
        self.store = store
        self.api = api
        self.clock = clock
        self.metrics = metrics
        self.idle_seconds = idle_seconds
        # a claim outlasts the slowest send: two API calls and a token fetch, each with its timeout
        self.lease = lease or timedelta(seconds=4 * (api.timeout.total or 15.0) + 5)
        self.name = f"pusher-{uuid.uuid4().hex[:12]}"   # whose claims these are, across workers
        self.in_flight, self.batch = in_flight, batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Claim what is due and send it in waves of `in_flight` sends side by side; returns how
        many were handled. A claim holds only each resident's oldest unsent notice, so the
        notices of a wave are all to different residents and each resident's stay in order. The
        store is asked once per wave, not once per notice: the claims renewed (a wave never goes
        out on a claim that ran out), the residents' customer-service quota drawn, and, after the
        sends, the notices marked sent."""
        items = await self.store.outbox.claim(self.clock.now(), self.lease, self.name, limit=self.batch)
        for start in range(0, len(items), max(self.in_flight, 1)):
            await self._wave(items[start:start + max(self.in_flight, 1)])
        return len(items)

    async def _wave(self, items: list[OutboxItem]) -> None:
        now = self.clock.now()
        held = await self.store.outbox.renew_each([item.id for item in items], self.name, now, self.lease)
        for item in items:
            if item.id not in held:
                log.info("claim on notice %d ran out before its turn; left to whoever holds it now", item.id)
        items = [item for item in items if item.id in held]
        drawn = await self.store.residents.draw_each([item.openid for item in items], now, CUSTOMER_SERVICE_QUOTA)
        outcomes = await asyncio.gather(*(self._send(item, item.openid in drawn) for item in items),
                                        return_exceptions=True)
        done_at = self.clock.now()
        await self.store.outbox.sent_each([item.id for item, got in zip(items, outcomes) if got is None], done_at)
        trouble: BaseException | None = None
        for item, got in zip(items, outcomes):
            if isinstance(got, WeChatAPIError):
                await self._failed(item, got)
            elif isinstance(got, BaseException):
                trouble = trouble or got      # the store failing: the round says so, the others went out
            elif got is not None:
                await self.store.outbox.sent(item.id, done_at, wechat_msgid=got)
        self.metrics.pushes.labels("sent").inc(sum(1 for got in outcomes if not isinstance(got, BaseException)))
        if trouble is not None:
            raise trouble

    async def _failed(self, item: OutboxItem, error: WeChatAPIError) -> None:
        attempts = item.attempts + 1
        retry_at = self.retry_at(item, attempts, error)
        give_up = retry_at is None
        await self.store.outbox.failed(item.id, str(error), retry_at, self.clock.now())
        self.metrics.pushes.labels("dead" if give_up else "retry").inc()
        log.warning("push %d to %s failed (attempt %d%s): %s", item.id, item.openid, attempts,
                    ", giving up" if give_up else "", error)

    def retry_at(self, item: OutboxItem, attempts: int, error: WeChatAPIError) -> datetime | None:
        """When to try again after `attempts` failed tries, or None to give up: 2, 4, 8 … seconds,
        at most LONGEST_WAIT apart, the last try when the notice is RETRY_FOR old; an uncertain send
        waits at least UNCERTAIN_WAIT."""
        now = self.clock.now()
        if error.errcode in NEVER_DELIVERABLE:
            return None
        wait = min(timedelta(seconds=2 ** min(attempts, 20)), LONGEST_WAIT)
        if isinstance(error, WeChatUncertain):
            wait = max(wait, UNCERTAIN_WAIT)
        give_up_at = (item.created_at or now) + RETRY_FOR
        return None if now >= give_up_at else min(now + wait, give_up_at)

    async def _send(self, item: OutboxItem, drawn: bool) -> str | None:
        """A customer-service text when one was `drawn` from the resident's quota (counted in the
        store, for every worker), otherwise — or when WeChat says the quota is spent (45047) or its
        time over (45015) — a template message, whose msgid is returned to be kept with the notice.
        Without a template the notice waits, retried, for the resident's next message."""
        if drawn:
            try:
                await self.api.send_text(item.openid, item.text)
                return None
            except WeChatUncertain:
                raise                     # WeChat may have taken it: it stays counted
            except WeChatAPIError as e:
                if e.errcode not in QUOTA_REFUSED:
                    await self.store.residents.give_back(item.openid)
                    raise
                await self.store.residents.spent(item.openid)
                log.info("WeChat refused a customer-service message to %s (%d); sending a template message",
                         item.openid, e.errcode)
        if self.template is None:
            raise WeChatAPIError(WeChatErrorCode.OUT_OF_RESPONSE_COUNT_LIMIT.value,
                                 "the customer-service quota is spent and no [wechat] notice_template_id is set")
        return await self.api.send_template(item.openid, self.template.template_id,
                                            self.template.data(item, self.clock.now()))

    async def housekeeping(self) -> None:
        """Forget de-duplication keys WeChat can no longer retry (it retries within seconds)."""
        await self.store.messages.purge_before(self.clock.now() - timedelta(days=2))
        await self.store.sessions.purge(self.clock.now())   # console sign-ins past their end

    async def run(self) -> None:
        rounds = 0
        while True:
            if rounds % 7200 == 0:
                try:
                    await self.housekeeping()
                except Exception:
                    log.exception("housekeeping failed")
            rounds += 1
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("pusher round failed; trying again shortly")
                handled = 0
            if not handled:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
                except TimeoutError:
                    pass
