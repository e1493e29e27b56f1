"""The store's contract for bookings: places, limits, marks, closed days, reminders (see `contract.py`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.store.bookings import Booking, BookingLimit, DayClosed, SlotTaken
from tests.store.contract import BAISHUI, NOW, QINGSHAN, TODAY, TOMORROW_9, day, later, make_booking, notices


# bookings

async def test_a_booking_takes_the_first_free_window(store):
    first = await make_booking(store, openid="o-1", windows=(1, 2), remind_at=later(hours=20))
    second = await make_booking(store, openid="o-2", windows=(1, 2))
    with pytest.raises(SlotTaken):
        await make_booking(store, openid="o-3", windows=(1, 2))

    assert (first.window, second.window) == (1, 2)
    assert (first.status, first.day, first.start, first.center, first.guide) == \
        ("booked", day(1), TOMORROW_9, QINGSHAN, "社保卡")
    assert (first.remind_at, first.reminded_at, first.note) == (later(hours=20), None, "")
    assert len(first.code) == 6 and first.code.isdigit() and first.code != second.code
    assert await store.bookings.get(first.code) == first
    assert await store.bookings.get("not-a-code") is None


async def test_the_last_place_goes_to_one_of_ten_residents(store):
    tried = await asyncio.gather(*(make_booking(store, openid=f"o-resident-{n}") for n in range(10)),
                                 return_exceptions=True)
    booked = [t for t in tried if isinstance(t, Booking)]
    assert len(booked) == 1
    assert all(isinstance(t, SlotTaken) for t in tried if t not in booked)
    assert await store.bookings.taken(QINGSHAN, day(1)) == {TOMORROW_9: {1}}


async def test_a_resident_books_a_service_once_and_only_so_many(store):
    first = await make_booking(store, max_active=2)
    with pytest.raises(BookingLimit) as same:
        await make_booking(store, start=TOMORROW_9 + timedelta(hours=1), max_active=2)
    assert (same.value.reason, same.value.existing.code) == ("same_service", first.code)

    await make_booking(store, guide="户籍迁移", start=TOMORROW_9 + timedelta(hours=1), max_active=2)
    with pytest.raises(BookingLimit) as many:
        await make_booking(store, guide="老年证", start=TOMORROW_9 + timedelta(hours=2), max_active=2)
    assert many.value.reason == "too_many"
    assert await store.bookings.taken(QINGSHAN, day(1)) == {TOMORROW_9: {1}, TOMORROW_9 + timedelta(hours=1): {1}}


async def test_a_new_booking_replaces_the_old_one_in_one_step(store):
    old = await make_booking(store)
    new = await make_booking(store, start=TOMORROW_9 + timedelta(hours=1), replaces=old.code)
    replaced = await store.bookings.get(old.code)
    assert (replaced.status, replaced.note) == ("cancelled", "改约")
    assert await store.bookings.upcoming("o-resident-1", NOW) == [new]
    assert (await make_booking(store, openid="o-resident-2")).window == 1   # the old place is free again


async def test_places_taken_upcoming_and_the_days_list(store):
    made = {name: await make_booking(store, openid=openid, guide=guide, center=center, start=start)
            for name, openid, guide, center, start in [
                ("late", "o-1", "社保卡", QINGSHAN, TOMORROW_9 + timedelta(minutes=30)),
                ("early", "o-1", "户籍迁移", QINGSHAN, TOMORROW_9),
                ("elsewhere", "o-2", "社保卡", BAISHUI, TOMORROW_9),
                ("next_day", "o-3", "社保卡", QINGSHAN, TOMORROW_9 + timedelta(days=1)),
                ("cancelled", "o-4", "老年证", QINGSHAN, TOMORROW_9 + timedelta(hours=1))]}
    await store.bookings.cancel(made["cancelled"].code, "o-4", NOW)

    assert await store.bookings.taken(QINGSHAN, day(1)) == {TOMORROW_9: {1}, TOMORROW_9 + timedelta(minutes=30): {1}}
    assert set(await store.bookings.taken(QINGSHAN, day(1), day(2))) == \
        {TOMORROW_9, TOMORROW_9 + timedelta(minutes=30), TOMORROW_9 + timedelta(days=1)}
    assert [b.code for b in await store.bookings.upcoming("o-1", NOW)] == [made["early"].code, made["late"].code]
    assert await store.bookings.upcoming("o-1", TOMORROW_9) == [made["late"]]

    def codes(bookings):
        return [b.code for b in bookings]

    assert codes(await store.bookings.for_day([QINGSHAN], day(1))) == \
        [made[n].code for n in ("early", "late", "cancelled")]
    assert len(await store.bookings.for_day(None, day(1))) == 4
    assert await store.bookings.for_day([], day(1)) == []


async def test_only_its_resident_cancels_a_booking(store):
    booking = await make_booking(store)
    assert await store.bookings.cancel(booking.code, "o-someone-else", NOW) is False
    assert await store.bookings.cancel(booking.code, "o-resident-1", NOW, note="临时有事") is True
    assert await store.bookings.cancel(booking.code, "o-resident-1", NOW) is False
    cancelled = await store.bookings.get(booking.code)
    assert (cancelled.status, cancelled.note) == ("cancelled", "临时有事")
    assert await store.bookings.taken(QINGSHAN, day(1)) == {}
    assert await store.bookings.mark(booking.code, "checked_in", NOW) is None


async def test_a_booking_is_marked_once(store):
    came = await make_booking(store, start=NOW + timedelta(minutes=30))
    missed = [await make_booking(store, guide=guide, start=start, at=start - timedelta(days=1))
              for guide, start in (("户籍迁移", later(days=-10)), ("老年证", later(days=-3)))]

    checked_in = await store.bookings.mark(came.code, "checked_in", NOW)
    assert checked_in.status == "checked_in"
    assert await store.bookings.mark(came.code, "no_show", NOW) is None
    assert await store.bookings.taken(QINGSHAN, TODAY) == {came.start: {1}}   # a checked-in resident keeps the place

    for booking in missed:
        assert (await store.bookings.mark(booking.code, "no_show", NOW)).status == "no_show"
    assert await store.bookings.no_shows("o-resident-1", since=day(-30)) == [day(-3), day(-10)]
    assert await store.bookings.no_shows("o-resident-1", since=day(-5)) == [day(-3)]


async def test_closing_a_day_releases_its_bookings_once(store):
    kept = await make_booking(store, openid="o-1")
    gone = await make_booking(store, openid="o-2", windows=(2,))   # cancelled before: nothing to tell
    await store.bookings.cancel(gone.code, "o-2", NOW)
    elsewhere = await make_booking(store, openid="o-3", center=BAISHUI)

    def notice(b: Booking) -> str:
        return f"{b.start:%m月%d日} 暂停办公，预约 {b.code} 已取消"

    released = await store.bookings.close_day(center=QINGSHAN, day=day(1), reason="停电", by="李站长", now=NOW,
                                              notice=notice)
    assert [b.code for b in released] == [kept.code]
    assert await store.bookings.close_day(center=QINGSHAN, day=day(1), reason="再关一次", by="李站长", now=NOW,
                                          notice=notice) is None
    closed = await store.bookings.get(kept.code)
    assert (closed.status, closed.note) == ("closed", "停电")
    assert (await store.bookings.get(elsewhere.code)).status == "booked"
    assert await notices(store) == [notice(kept)]
    assert await store.bookings.closed_days(QINGSHAN, TODAY, day(6)) == frozenset({day(1)})
    assert await store.bookings.closed_days(BAISHUI, TODAY, day(6)) == frozenset()
    assert (await store.bookings.closure(QINGSHAN, day(1)))["reason"] == "停电"
    assert await store.bookings.closure(QINGSHAN, day(2)) is None


async def test_a_closed_day_takes_no_booking(store):
    await store.bookings.close_day(center=QINGSHAN, day=day(1), reason="停电", by="李站长", now=NOW,
                                   notice=lambda b: "已取消")
    with pytest.raises(DayClosed):   # offered before the closure, confirmed after it
        await make_booking(store)
    assert await store.bookings.for_day([QINGSHAN], day(1)) == []
    assert (await make_booking(store, center=BAISHUI)).status == "booked"   # another center is open


async def test_closing_a_day_while_residents_confirm_leaves_no_booking_on_it(store):
    """Confirmations and the closure arrive together: each booking either comes first and is
    released (with its notice) or is refused; none survives on the closed day."""
    def notice(b: Booking) -> str:
        return f"预约 {b.code} 已取消"

    async def confirm(n: int) -> Booking | None:
        await asyncio.sleep(0.001 * (n % 5))
        try:
            return await make_booking(store, openid=f"o-{n}", windows=(n,))
        except DayClosed:
            return None

    async def close() -> list[Booking] | None:
        await asyncio.sleep(0.002)
        return await store.bookings.close_day(center=QINGSHAN, day=day(1), reason="停电", by="李站长", now=NOW,
                                              notice=notice)

    *booked, released = await asyncio.gather(*(confirm(n) for n in range(1, 21)), close())
    taken = {b.code for b in booked if b is not None}
    assert {b.code for b in released} == taken
    assert [b.status for b in await store.bookings.for_day([QINGSHAN], day(1)) if b.status == "booked"] == []
    assert sorted(await notices(store)) == sorted(f"预约 {code} 已取消" for code in taken)


async def test_a_reminder_is_due_once(store):
    reminded = await make_booking(store, openid="o-1", remind_at=later(hours=2))
    cancelled = await make_booking(store, openid="o-2", windows=(2,), remind_at=later(hours=1))
    await store.bookings.cancel(cancelled.code, "o-2", NOW)
    await make_booking(store, openid="o-3", windows=(3,))   # no reminder wanted

    assert await store.bookings.due_reminders(later(hours=1)) == []
    assert await store.bookings.due_reminders(later(hours=3)) == [reminded]
    assert await store.bookings.remind(reminded, "明天 9:00 请到青山村便民服务站", later(hours=3)) is True
    assert await store.bookings.remind(reminded, "又提醒一次", later(hours=3)) is False
    assert await store.bookings.due_reminders(later(hours=4)) == []
    assert await notices(store) == ["明天 9:00 请到青山村便民服务站"]
    assert (await store.bookings.get(reminded.code)).reminded_at == later(hours=3).isoformat()
