"""How the demo's month of work is made the way real work is made (`bot.demo_seed` tells what
happened in it).

Nothing is written past the system: residents' messages go through the real callback (signed and
encrypted, as WeChat sends them), staff act through the JSON API with the demo accounts' tokens
(so the audit log records them), notices go through the pusher to the demo's fake WeChat, and
the conversation timeouts through the app's own round. The clock (`DemoClock`) is pinned to each
moment in turn — days relative to today, stories counted in working days of the holiday calendar
— and released when the month is done. Below `Month`, the flows a resident goes through (代办,
上门, 预约, 投诉, a rating), as they would type them.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Awaitable, Callable

import aiohttp

from bot.clock import TZ, Clock
from bot.errors import FrontdeskError
from bot.pusher import Pusher
from bot.workdays import WorkCalendar
from bot.wechat.simulator import WeChatSide

SEED = 2026


@dataclass
class DemoClock(Clock):
    """The wall clock, or the moment it is pinned to while the demo's past is being made."""

    pinned: datetime | None = None

    def now(self) -> datetime:
        return self.pinned if self.pinned is not None else datetime.now(TZ)

    def timestamp(self) -> float:
        return self.pinned.timestamp() if self.pinned is not None else time.time()


class SeedError(FrontdeskError):
    """A story did not go as written (the bot answered something else): the seed stops there."""


@dataclass(frozen=True)
class Persona:
    openid: str
    label: str        # how the simulator's "play as" list names them
    bind: str         # what they write to bind themselves to their village (绑定 …), or ""
    story: str        # one line on what happened to them this month


@dataclass(frozen=True)
class Step:
    days_ago: int          # working days before today, or calendar days when not `workdays`
    hour: int
    minute: int
    workdays: bool
    act: Callable[[], Awaitable[None]]


def _id_number(rng: random.Random, born: date) -> str:
    """A made-up 居民身份证号码 with a valid check digit (GB 11643), for the demo's applications."""
    weights, checks = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
    body = f"371122{born:%Y%m%d}{rng.randrange(100, 999)}"
    return body + checks[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def found_in(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text)
    if not match:
        raise SeedError(f"no {what} in {text!r}")
    return match.group(1)


class Month:
    """One seeding run: the pinned clock, the real callback, the staff API, the pusher."""

    def __init__(self, *, base: str, wechat_path: str, side: WeChatSide, session: aiohttp.ClientSession,
                 clock: DemoClock, pusher: Pusher, tokens: dict[str, str], fake: Any,
                 watch: Callable[[], Awaitable[Any]]) -> None:
        self.base, self.wechat_path, self.side, self.session = base, wechat_path, side, session
        self.clock, self.pusher, self.tokens, self.fake, self.watch = clock, pusher, tokens, fake, watch
        self.calendar = WorkCalendar()
        self.rng = random.Random(SEED)
        self.started = clock.now()
        self.personas: list[Persona] = []
        self.steps: list[tuple[int, Step]] = []

    # -- time -------------------------------------------------------------------------------

    def moment(self, step: Step) -> datetime:
        """When a step happens — stories count working days back from today, so their order is
        the same whatever today is; nothing happens after now."""
        day, left = self.started.date(), step.days_ago
        while left > 0:
            day -= timedelta(days=1)
            left -= not step.workdays or self.calendar.is_workday(day)
        at = datetime(day.year, day.month, day.day, step.hour, step.minute, tzinfo=TZ)
        return min(at, self.started - timedelta(minutes=30))

    async def at(self, moment: datetime) -> None:
        """Pin the clock to `moment` (never backwards) and send what has become due."""
        pinned = self.clock.pinned
        self.clock.pinned = moment if pinned is None or moment > pinned else pinned + timedelta(minutes=1)
        await self.push()

    async def push(self) -> None:
        while await self.pusher.run_once():
            pass

    # -- the resident's side ---------------------------------------------------------------

    async def say(self, openid: str, text: str, kind: str = "text") -> str:
        """What the resident writes, through the real callback; the bot's reply ('' for none)."""
        from bot.demo import inbound_xml

        assert self.clock.pinned is not None
        self.clock.pinned += timedelta(minutes=1)
        stamp = int(self.clock.timestamp())
        query, body = self.side.seal(inbound_xml(openid, kind, text, create_time=stamp), timestamp=str(stamp))
        async with self.session.post(self.base + self.wechat_path, params=query, data=body) as resp:
            raw = await resp.text()
            if resp.status != 200:
                raise SeedError(f"the callback answered {resp.status} to {text!r}")
        reply = self.side.open_reply(raw) or {}
        await self.push()
        return reply.get("Content") or ""

    async def expect(self, openid: str, text: str, *words: str) -> str:
        answer = await self.say(openid, text)
        if missing := [w for w in words if w not in answer]:
            raise SeedError(f"{openid} wrote {text!r}; the answer lacks {missing}: {answer!r}")
        return answer

    # -- the staff side ---------------------------------------------------------------------

    async def api(self, who: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        async with self.session.post(self.base + path, json=body or {}, headers=headers) as resp:
            answer = await resp.json()
            if resp.status not in (200, 201):
                raise SeedError(f"{who} POST {path} {body}: {resp.status} {answer}")
        await self.push()
        return answer

    async def conversation(self, openid: str) -> int:
        """The id of the resident's conversation with a person that is still going on."""
        async with self.session.get(self.base + "/api/handoffs",
                                    headers={"Authorization": f"Bearer {self.tokens['admin']}"}) as resp:
            found = [h["id"] for h in (await resp.json())["handoffs"] if h["openid"] == openid]
        if not found:
            raise SeedError(f"no conversation with a person for {openid}")
        return found[0]

    async def clerk_writes(self, who: str, openid: str, *texts: str) -> int:
        """A clerk takes the resident's conversation (if waiting) and writes, a minute or two apart."""
        handoff = await self.conversation(openid)
        for text in texts:
            assert self.clock.pinned is not None
            self.clock.pinned += timedelta(minutes=self.rng.randint(1, 3))
            await self.api(who, f"/api/handoffs/{handoff}/messages", {"text": text})
        return handoff

    async def closes(self, who: str, handoff: int, openid: str, rating: str) -> str:
        """The clerk closes the conversation; the resident answers the rating request it sends."""
        await self.api(who, f"/api/handoffs/{handoff}/close")
        return await self.say(openid, rating)

    async def timeouts(self, minutes: int) -> None:
        """`minutes` later, the conversation clocks are looked at, as the running app does."""
        assert self.clock.pinned is not None
        self.clock.pinned += timedelta(minutes=minutes)
        await self.watch()
        await self.push()

    async def move(self, number: str, to: str, note: str = "", *, who: str = "qinghe", **extra: str) -> None:
        await self.api(who, f"/api/cases/{number}/transitions", {"to": to, "note": note, **extra})

    # -- stories ----------------------------------------------------------------------------

    def persona(self, label: str, bind: str, story: str) -> Persona:
        openid = "o" + "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=27))
        found = Persona(openid, label, bind, story)
        self.personas.append(found)
        return found

    def plan(self, *steps: Step) -> None:
        order = len(self.steps)
        self.steps += [(order + i, s) for i, s in enumerate(steps)]

    async def run(self) -> None:
        timeline = sorted(self.steps, key=lambda item: (self.moment(item[1]), item[0]))
        for _, step in timeline:
            await self.at(self.moment(step))
            await step.act()


def on(days_ago: int, hour: int, act: Callable[[], Awaitable[Any]], minute: int = 0) -> Step:
    """A step of a story, `days_ago` working days before today."""
    async def run() -> None:
        await act()
    return Step(days_ago, hour, minute, True, run)


# -- the flows residents go through, as they would type them ---------------------------------

async def ask_proxy(m: Month, p: Persona, request: str, name: str, phone: str, born: date) -> str:
    """A 代办 request from first words to confirmation; the case number."""
    answer = await m.say(p.openid, request)
    if "姓名" not in answer and "回复“代办”" in answer:   # asked whether it can be done: now asks for it
        answer = await m.say(p.openid, "代办")
    if "姓名" not in answer:
        raise SeedError(f"{request!r} did not start a 代办 request: {answer!r}")
    await m.expect(p.openid, name, "手机号")
    await m.expect(p.openid, phone, "身份证")
    answer = await m.say(p.openid, _id_number(m.rng, born))
    if "送证上门" in answer:
        answer = await m.say(p.openid, "不用")
    if "确认" not in answer:
        raise SeedError(f"no summary to confirm: {answer!r}")
    return found_in(r"编号 ?([A-Z]\d{8}-\d{4})", await m.say(p.openid, "确认"), "case number")


async def applies(m: Month, p: Persona, request: str, name: str, phone: str, born: date, *,
                  asked: tuple[str, ...] = ()) -> str:
    """A resident binds themselves to their village, asks what they want to know, then asks for 代办."""
    for text in ((p.bind,) if p.bind else ()) + asked:
        await m.say(p.openid, text)
    return await ask_proxy(m, p, request, name, phone, born)


async def ask_home_visit(m: Month, p: Persona, request: str, address: str, phone: str) -> str:
    answer = await m.expect(p.openid, request, "上门")
    if "来不了" in answer:   # why they cannot come: 重病或卧床
        answer = await m.say(p.openid, found_in(r"(\d)\. ?重病或卧床", answer, "reason to choose"))
    if "详细地址" not in answer:
        raise SeedError(f"no address asked: {answer!r}")
    await m.expect(p.openid, address, "电话")
    answer = await m.expect(p.openid, phone, "1.")
    await m.expect(p.openid, "1", "确认")
    return found_in(r"编号 ?([A-Z]\d{8}-\d{4})", await m.say(p.openid, "确认"), "case number")


async def finish(m: Month, p: Persona, number: str, note: str, rating: str, who: str = "qinghe") -> str:
    """Staff complete the case; a little later the resident answers the rating request it sent."""
    await m.move(number, "completed", note, who=who)
    m.clock.pinned += timedelta(minutes=m.rng.randint(5, 25))
    return await m.say(p.openid, rating)


async def book(m: Month, p: Persona, request: str, day_choice: str = "1") -> str:
    """预约 by chat: the first center offered, the `day_choice`-th day, the first time; the code."""
    answer = await m.say(p.openid, request)
    for _ in range(6):
        if "预约成功" in answer:
            return found_in(r"预约码：(\d{6})", answer, "booking code")
        if "确认" in answer and "预约" in answer and "1." not in answer:
            answer = await m.say(p.openid, "确认")
        elif "周" in answer and "1." in answer and "余" in answer:
            answer = await m.say(p.openid, day_choice)
        elif "1." in answer:
            answer = await m.say(p.openid, "1")
        else:
            break
    raise SeedError(f"booking did not finish: {answer!r}")


async def complain(m: Month, p: Persona, what: str) -> str:
    answer = await m.say(p.openid, what)
    if "编号" not in answer:
        raise SeedError(f"complaint not registered: {answer!r}")
    return found_in(r"编号 ?([A-Z]\d{8}-\d{4})", answer, "case number")
