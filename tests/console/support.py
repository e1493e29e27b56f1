"""Signing staff in through the console's own sign-in form, as a browser would."""

from __future__ import annotations

import re
import secrets

from aiohttp.test_utils import TestClient

from bot.passwords import hash_password

PASSWORD = "window-2026"


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


async def add_staff(bot, name: str, center: str | None, role: str = "clerk", password: str = PASSWORD) -> None:
    await bot.store.staff.add(name=name, center=center, role=role, token=secrets.token_urlsafe(16),
                              now=bot.clock.now(), password_hash=hash_password(password))


async def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    """Open the sign-in page, post the form; the client keeps the session cookie."""
    page = await client.get("/console/login")
    token = csrf_of(await page.text())
    return await client.post("/console/login", data={"_csrf": token, "name": name, "password": password,
                                                     "next": "/console/dashboard"})


async def staff_client(bot, aiohttp_client, name: str, center: str | None, role: str = "clerk") -> TestClient:
    """A second browser on the same server, signed in as a new staff member."""
    await add_staff(bot, name, center, role)
    client = await aiohttp_client(bot.client.server)
    resp = await sign_in(client, name)
    assert resp.status == 200 and "/console/dashboard" in str(resp.url), await resp.text()
    return client


async def form_token(client: TestClient, path: str) -> str:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_of(await resp.text())
