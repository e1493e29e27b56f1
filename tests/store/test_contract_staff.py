"""The store's contract for staff accounts, console sessions and the audit log (see `contract.py`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.errors import StoreError
from bot.store import Store
from tests.store.contract import BAISHUI, NOW, QINGSHAN, later


# staff, sessions and audit

async def add_staff(store: Store, name: str, center: str | None = QINGSHAN, role: str = "clerk"):
    return await store.staff.add(name=name, center=center, role=role, token=f"token-{name}", now=NOW,
                                 password_hash="argon2-hash-1")


async def test_staff_are_added_once_by_name(store):
    member = await add_staff(store, "李办事员")
    with pytest.raises(StoreError):
        await store.staff.add(name="李办事员", center=BAISHUI, role="clerk", token="another-token", now=NOW)

    assert await store.staff.by_token("token-李办事员") == member
    assert await store.staff.by_token("token-nobody") is None
    account = await store.staff.account("李办事员")
    assert (account.member, account.password_hash, account.failed_logins) == (member, "argon2-hash-1", 0)
    assert (account.locked_until, account.disabled, account.created_at) == (None, False, NOW.isoformat())
    assert await store.staff.account_by_id(member.id) == account
    assert await store.staff.account("赵某") is None


async def test_accounts_are_listed_admins_first_then_by_center(store):
    for name, center, role in [("孙办事员", BAISHUI, "clerk"), ("周站长", QINGSHAN, "supervisor"),
                               ("吴管理员", None, "admin"), ("郑办事员", QINGSHAN, "clerk")]:
        await add_staff(store, name, center, role)
    assert [a.member.name for a in await store.staff.accounts()] == ["吴管理员", "孙办事员", "郑办事员", "周站长"]


async def test_wrong_passwords_lock_an_account_at_the_limit(store):
    member = await add_staff(store, "李办事员")
    lock = {"limit": 3, "lock_for": timedelta(minutes=15), "now": NOW}
    assert [await store.staff.reserve_attempt(member.id, **lock) for _ in range(2)] == [1, 2]
    assert (await store.staff.account("李办事员")).failed_logins == 2
    await store.staff.signed_in(member.id)   # a good password gives its attempt back
    assert (await store.staff.account("李办事员")).failed_logins == 0

    assert [await store.staff.reserve_attempt(member.id, **lock) for _ in range(4)] == [1, 2, 3, None]
    locked = await store.staff.account("李办事员")
    assert locked.locked_until == later(minutes=15)
    assert await store.staff.reserve_attempt(member.id, **{**lock, "now": later(minutes=14)}) is None
    assert await store.staff.reserve_attempt(member.id, **{**lock, "now": later(minutes=15)}) == 1   # the lock ran out
    assert (await store.staff.account("李办事员")).locked_until is None

    await store.staff.signed_in(member.id, password_hash="argon2-hash-2")
    opened = await store.staff.account("李办事员")
    assert (opened.locked_until, opened.password_hash) == (None, "argon2-hash-2")
    await store.staff.set_disabled(member.id, True, NOW)
    assert await store.staff.reserve_attempt(member.id, **lock) is None   # a disabled account is never checked


async def test_attempts_sent_at_once_each_take_their_own_number_up_to_the_limit(store):
    member = await add_staff(store, "李办事员")
    taken = await asyncio.gather(*(store.staff.reserve_attempt(member.id, limit=5, lock_for=timedelta(minutes=15),
                                                                now=NOW) for _ in range(40)))
    assert sorted(n for n in taken if n is not None) == [1, 2, 3, 4, 5] and taken.count(None) == 35
    assert (await store.staff.account("李办事员")).locked_until == later(minutes=15)


async def test_a_new_password_or_disabling_ends_the_sessions(store):
    member = await add_staff(store, "李办事员")
    other = await add_staff(store, "赵办事员")
    hours = timedelta(hours=8)
    cookies = [(await store.sessions.start(m.id, NOW, hours))[0] for m in (member, member, other)]

    await store.staff.set_password(member.id, "argon2-hash-2")
    assert [await store.sessions.get(c, NOW, hours) is None for c in cookies] == [True, True, False]
    assert (await store.staff.account("李办事员")).password_hash == "argon2-hash-2"

    await store.staff.set_disabled(other.id, True, NOW)
    assert await store.sessions.get(cookies[2], NOW, hours) is None
    assert await store.staff.by_token("token-赵办事员") is None
    assert (await store.staff.account("赵办事员")).disabled is True
    await store.staff.set_disabled(other.id, False, NOW)
    assert await store.staff.by_token("token-赵办事员") == other


async def test_a_session_lasts_until_it_is_idle_expired_or_ended(store):
    member = await add_staff(store, "李办事员")
    idle, lasts = timedelta(minutes=30), timedelta(hours=1)
    kept, csrf = await store.sessions.start(member.id, NOW, lasts)
    idled, _ = await store.sessions.start(member.id, NOW, lasts)
    ended, _ = await store.sessions.start(member.id, NOW, lasts)

    session = await store.sessions.get(kept, later(minutes=20), idle)
    assert (session.member, session.csrf, session.seen_at) == (member, csrf, NOW)
    assert await store.sessions.get(kept, later(minutes=45), idle) is not None   # seen at 20 minutes
    assert await store.sessions.get(kept, later(hours=1), idle) is None          # its time is up
    assert await store.sessions.get(kept, later(minutes=50), idle) is None       # and it was ended

    assert await store.sessions.get(idled, later(minutes=31), idle) is None
    await store.sessions.end(ended)
    assert await store.sessions.get(ended, NOW, idle) is None
    assert await store.sessions.get("a-cookie-never-given", NOW, idle) is None


async def test_expired_sessions_are_purged(store):
    member = await add_staff(store, "李办事员")
    short, _ = await store.sessions.start(member.id, NOW, timedelta(hours=1))
    long, _ = await store.sessions.start(member.id, NOW, timedelta(hours=8))
    assert await store.sessions.purge(later(hours=1)) == 1
    assert await store.sessions.get(long, later(hours=1), timedelta(hours=2)) is not None
    assert await store.sessions.purge(later(hours=1)) == 0


async def test_audit_lines_come_newest_first_for_the_centers_seen(store):
    await add_staff(store, "李办事员", QINGSHAN)
    await add_staff(store, "孙办事员", BAISHUI)
    for n, (actor, action, center) in enumerate([("李办事员", "sign_in", None), ("李办事员", "case_moved", QINGSHAN),
                                                 ("孙办事员", "sign_in", None), ("孙办事员", "case_moved", BAISHUI),
                                                 ("吴管理员", "staff_added", QINGSHAN)]):
        await store.audit.add(actor=actor, role="clerk", action=action, now=later(minutes=n), center=center,
                              target=f"#{n}", detail="详" * 600, address="10.0.0.8")

    lines = await store.audit.lines(centers=None)
    assert [line.target for line in lines] == ["#4", "#3", "#2", "#1", "#0"]
    assert (lines[0].at, lines[0].address, len(lines[0].detail)) == (later(minutes=4).isoformat(), "10.0.0.8", 500)
    assert [line.target for line in await store.audit.lines(centers=[QINGSHAN])] == ["#4", "#1", "#0"]
    assert await store.audit.lines(centers=[]) == []
    assert [line.target for line in await store.audit.lines(centers=None, actor="孙办事员")] == ["#3", "#2"]
    assert [line.target for line in await store.audit.lines(centers=[BAISHUI], action="sign_in")] == ["#2"]
    assert [line.target for line in await store.audit.lines(centers=None, limit=2, before_id=lines[1].id)] == \
        ["#2", "#1"]
