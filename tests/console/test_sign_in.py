"""Signing in and out: cookies, CSRF on every form, lockout after wrong passwords, roles."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from bot import passwords

from tests.console.support import PASSWORD, add_staff, csrf_of, form_token, sign_in, staff_client


async def test_pages_need_a_session_and_posts_without_one_change_nothing(bot):
    resp = await bot.client.get("/console/cases", allow_redirects=False)
    assert resp.status == 303 and unquote(resp.headers["Location"]) == "/console/login?next=/console/cases"
    resp = await bot.client.post("/console/cases/D20261124-0001/move", data={"to": "accepted"})
    assert resp.status == 403 and "登录已过期" in await resp.text()


async def test_sign_in_sets_a_guarded_cookie_and_sign_out_ends_the_session(bot, aiohttp_client):
    await add_staff(bot, "wangfang", "town-center")
    client = await aiohttp_client(bot.client.server)
    resp = await sign_in(client, "wangfang")
    assert resp.status == 200 and "wangfang（窗口工作人员，清河镇便民服务中心）" in await resp.text()
    cookie = resp.history[0].headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Frame-Options"] == "DENY"
    token = await form_token(client, "/console/dashboard")
    value = client.session.cookie_jar.filter_cookies(client.make_url("/console"))["frontdesk_console"].value
    assert value not in str(await bot.store.fetchall("SELECT * FROM console_sessions"))  # only its hash is kept
    await client.post("/console/logout", data={"_csrf": token})
    again = await client.get("/console/dashboard", allow_redirects=False, cookies={"frontdesk_console": value})
    assert again.status == 303  # the old cookie no longer opens anything


async def test_secure_cookie_unless_configured_otherwise(start_bot, aiohttp_client):
    bot = await start_bot(console={"secure_cookie": True})
    await add_staff(bot, "wangfang", "town-center")
    resp = await bot.client.get("/console/login")
    assert "Secure" in resp.headers["Set-Cookie"]  # an HTTPS-only browser sends it back over HTTPS only


async def test_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(bot, aiohttp_client):
    await add_staff(bot, "lisi", "qinghe-dongcun")
    client = await aiohttp_client(bot.client.server)
    for _ in range(4):
        resp = await sign_in(client, "lisi", "wrong-pass-1")
        assert resp.status == 401 and "用户名或密码不对" in await resp.text()
    resp = await sign_in(client, "lisi", "wrong-pass-1")
    assert resp.status == 401 and "已暂时锁定" in await resp.text()
    resp = await sign_in(client, "lisi", PASSWORD)  # the right password does not open a locked account
    assert resp.status == 403 and "已暂时锁定" in await resp.text()

    admin = await staff_client(bot, aiohttp_client, "root", None, "admin")
    page = await admin.get("/console/staff")
    assert "已锁定" in await page.text()
    account = await bot.store.staff.account("lisi")
    await admin.post(f"/console/staff/{account.member.id}/unlock", data={"_csrf": csrf_of(await page.text())})
    resp = await sign_in(client, "lisi", PASSWORD)
    assert resp.status == 200 and "/console/dashboard" in str(resp.url)
    audit = await bot.store.audit.lines(centers=None, actor="lisi", action="login_failed")
    assert len(audit) == 5


class CountingHasher:
    """The real argon2 hasher, counting the password checks it makes."""

    def __init__(self, inner):
        self.inner, self.checked = inner, 0

    def verify(self, stored, password):
        self.checked += 1
        return self.inner.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def test_a_burst_of_sign_ins_gets_no_more_password_checks_than_the_lockout_allows(
        start_bot, store_url, aiohttp_client, monkeypatch):
    bot = await start_bot(store={"url": store_url})
    limit = bot.config.console.lockout_failures
    await add_staff(bot, "lisi", "qinghe-dongcun")
    hasher = CountingHasher(passwords._HASHER)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    client = await aiohttp_client(bot.client.server)
    token = csrf_of(await (await client.get("/console/login")).text())

    async def burst(passwords_sent: list[str]) -> list[int]:
        sent = [client.post("/console/login", allow_redirects=False,
                            data={"_csrf": token, "name": "lisi", "password": p, "next": "/console/dashboard"})
                for p in passwords_sent]
        return [r.status for r in await asyncio.gather(*sent)]

    statuses = await burst([f"wrong-pass-{i}" for i in range(60)])   # sent at once, as an attacker would
    assert hasher.checked == limit   # the rest were refused before any hashing
    assert sorted(statuses) == [401] * limit + [403] * (60 - limit)
    # locked now: the right password, alone or in another burst, is refused and costs no check
    assert set(await burst([f"wrong-again-{i}" for i in range(19)] + [PASSWORD])) == {403}
    resp = await sign_in(client, "lisi", PASSWORD)
    assert resp.status == 403 and "已暂时锁定" in await resp.text()
    assert hasher.checked == limit
    assert (await bot.store.staff.account("lisi")).locked_until is not None


async def test_unknown_name_and_forged_sign_in_form_are_refused(bot, aiohttp_client):
    client = await aiohttp_client(bot.client.server)
    assert (await sign_in(client, "nobody")).status == 401
    resp = await client.post("/console/login", data={"_csrf": "forged", "name": "nobody", "password": "x"})
    assert resp.status == 403 and "登录页已过期" in await resp.text()


async def test_a_form_posted_without_its_token_is_refused_and_changes_nothing(bot, aiohttp_client):
    client = await staff_client(bot, aiohttp_client, "wangfang", "town-center")
    resp = await client.post("/console/staff", data={"name": "x", "role": "clerk", "center": "town-center",
                                                     "password": "abcdefg123"})
    assert resp.status == 403 and "表单已失效" in await resp.text()
    assert await bot.store.staff.account("x") is None


async def test_only_an_admin_manages_accounts_and_weak_passwords_are_refused(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "wangfang", "town-center")
    assert (await clerk.get("/console/staff")).status == 403
    admin = await staff_client(bot, aiohttp_client, "root", None, "admin")
    token = await form_token(admin, "/console/staff")
    weak = await admin.post("/console/staff", data={"_csrf": token, "name": "zhao", "role": "clerk",
                                                    "center": "qinghe-xicun", "password": "12345678"})
    assert weak.status == 400 and "密码太简单" in await weak.text()
    made = await admin.post("/console/staff", data={"_csrf": token, "name": "zhao", "role": "clerk",
                                                    "center": "qinghe-xicun", "password": "xicun-2026"})
    assert made.status == 200 and "账号已建立" in await made.text()
    new = await aiohttp_client(bot.client.server)
    assert (await sign_in(new, "zhao", "xicun-2026")).status == 200
    twice = await admin.post("/console/staff", data={"_csrf": token, "name": "zhao", "role": "clerk",
                                                     "center": "qinghe-xicun", "password": "xicun-2026"})
    assert twice.status == 409


async def test_changing_ones_password_ends_the_session(bot, aiohttp_client):
    client = await staff_client(bot, aiohttp_client, "wangfang", "town-center")
    token = await form_token(client, "/console/password")
    resp = await client.post("/console/password", data={"_csrf": token, "old": PASSWORD, "new": "new-pass-2027",
                                                        "again": "new-pass-2027"})
    assert resp.status == 200 and "密码已修改" in await resp.text()
    assert (await client.get("/console/dashboard", allow_redirects=False)).status == 303
    assert (await sign_in(client, "wangfang", "new-pass-2027")).status == 200


async def test_an_unknown_console_page_is_a_console_404(bot, aiohttp_client):
    client = await staff_client(bot, aiohttp_client, "wangfang", "town-center")
    resp = await client.get("/console/nothing-here")
    assert resp.status == 404 and "没有找到" in await resp.text() and "退出登录" in await resp.text()
