"""The store's contract: what handlers and the console rely on, passed unchanged by every backend.

Each test in `test_contract_*.py` runs once on SQLite and once on PostgreSQL (the `store_url`
fixture); a test that passes on one and fails on the other is a difference in the store to fix,
not in the test. This module makes what the tests need; all names, phones and places are made up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.clock import FixedClock
from bot.personal import mask_mobile
from bot.store import Store
from bot.store.bookings import Booking
from bot.store.cases import Case


NOW = FixedClock().now()                 # Tuesday 2026-11-24 10:00, Asia/Shanghai
TODAY = NOW.date()
TOMORROW_9 = (NOW + timedelta(days=1)).replace(hour=9)
QINGSHAN, BAISHUI = "青山村", "白水村"
FAR = NOW + timedelta(days=365)


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


async def make_case(store: Store, *, kind: str = "proxy", openid: str = "o-resident-1", center: str = QINGSHAN,
                    guide: str | None = "户籍迁移", phone: str = "13800001111", at: datetime = NOW,
                    notice: str | None = None) -> Case:
    return await store.cases.create(kind=kind, openid=openid, guide=guide, center=center,
                                    data={"name": "王小明", "phone": phone, "phone_masked": mask_mobile(phone)},
                                    now=at, actor="resident", notice=notice)


async def move(store: Store, case: Case, to: str, *, at: datetime = NOW, deadline: date | None = None,
               notice: str | None = None) -> Case:
    return await store.cases.move(case, to=to, actor="李办事员", note="", deadline=deadline, now=at, notice=notice)


async def make_booking(store: Store, *, openid: str = "o-resident-1", guide: str = "社保卡", center: str = QINGSHAN,
                       start: datetime = TOMORROW_9, windows: tuple[int, ...] = (1,), at: datetime = NOW,
                       remind_at: datetime | None = None, max_active: int = 3,
                       replaces: str | None = None) -> Booking:
    return await store.bookings.book(openid=openid, guide=guide, center=center, start=start, windows=windows,
                                     now=at, remind_at=remind_at, max_active=max_active, replaces=replaces)


async def notices(store: Store, openid: str | None = None) -> list[str]:
    """The texts waiting in the outbox (for one resident), oldest first."""
    return [item.text for item in await store.outbox.waiting(openid)]


async def dead_notice(store: Store, openid: str, text: str = "您的材料已审核") -> int:
    """A notice WeChat refused for good; its id."""
    await store.outbox.add(openid, [text], NOW)
    item = next(i for i in await store.outbox.waiting(openid) if i.text == text)
    await store.outbox.failed(item.id, "48001 api unauthorized", None, NOW)
    return item.id


async def check_unfinished_answers(store: Store) -> None:
    """A message kept with its claim is unfinished until its answer is recorded: found once its
    claim is stale, resumed by one worker only, and no longer once answered or queued."""
    messages = store.messages
    await messages.claim("msg-slow", "o-resident-1", NOW, "sealed question 1")
    await messages.claim("msg-quick", "o-resident-1", NOW, "sealed question 2")
    await messages.claim("msg-event", "o-resident-1", NOW)   # needs no answer: nothing kept
    await messages.answered("msg-slow", '{"text": "请稍等"}', final=False)
    await messages.answered("msg-quick", '{"text": "请带身份证"}')
    assert await messages.unfinished(NOW) == []   # claimed just now: its worker may be at it
    await messages.renew("msg-slow", later(seconds=30))   # still at it
    assert await messages.unfinished(later(seconds=20)) == []
    assert await messages.unfinished(later(minutes=1)) == [("msg-slow", "sealed question 1")]
    assert await messages.resume("msg-slow", later(minutes=2), later(minutes=1)) is True
    assert await messages.resume("msg-slow", later(minutes=2), later(minutes=1)) is False   # another was first
    await messages.finished("msg-slow")
    assert await messages.unfinished(later(days=1)) == []
    assert await messages.reply_for("msg-slow") == (True, '{"text": "请稍等"}')   # WeChat's retry still gets it
