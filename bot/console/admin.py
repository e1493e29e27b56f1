"""Staff accounts (admins) and the audit log, 电子监察 (supervisors and admins).

An admin creates accounts with a first password handed over in person, resets a forgotten
password, unlocks an account locked by wrong passwords and disables the account of someone who
left; every one of these is in the audit log like any other staff action.
"""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from bot.console.pages import ACCESS, Pages, field
from bot.errors import StoreError
from bot.passwords import hash_password, weak
from bot.store.staff import COUNTY_ROLES, ROLES

ACTIONS = ("login", "login_failed", "login_locked", "logout", "password_changed", "case_move", "reveal_personal", "reveal_contact",
           "checkin", "noshow", "close_day", "handoff_answer", "handoff_take",
           "handoff_message", "handoff_close", "handoff_transfer", "handoff_case", "canned_add", "canned_remove",
           "staff_added", "staff_password_reset",
           "staff_unlocked", "staff_disabled", "staff_enabled", "staff_token_issued", "staff_token_revoked",
           "refused", "csrf_refused", "notice_followed_up",
           "notice_resent", "resident_export", "resident_erase", "retention_purge",
           "guide_create", "guide_draft", "guide_discard", "guide_publish", "guide_rollback", "guide_confirm", "guide_reviewed")


class AdminPages:
    def __init__(self, pages: Pages):
        self.pages = pages

    async def audit(self, request: web.Request) -> web.Response:
        access, q = request[ACCESS], request.query
        if not access.reports:
            return self.pages.refuse(request, 403, "forbidden")
        action = q.get("action", "") if q.get("action") in ACTIONS else ""
        actor = q.get("actor", "").strip()[:60]
        before = int(q["before"]) if q.get("before", "").isdigit() else None
        lines = await self.pages.store(request).audit.lines(centers=access.centers, actor=actor or None,
                                                            action=action or None, before_id=before, limit=100)
        return self.pages.render(request, "audit", lines=lines, actions=ACTIONS,
                                 filters={"action": action, "actor": actor})

    async def staff(self, request: web.Request, status: int = 200, problem: str = "", **context) -> web.Response:
        if not request[ACCESS].manages_staff:
            return self.pages.refuse(request, 403, "forbidden")
        context.setdefault("draft", {})
        return self.pages.render(request, "staff", status=status, accounts=await self.pages.store(request).staff.accounts(),
                                 roles=ROLES, problem=problem, **context)

    async def add(self, request: web.Request) -> web.Response:
        pages = self.pages
        if not request[ACCESS].manages_staff:
            return pages.refuse(request, 403, "forbidden")
        form = await request.post()
        name, role, center = field(form, "name")[:40], field(form, "role"), field(form, "center") or None
        password = str(form.get("password", ""))
        draft = {"name": name, "role": role, "center": center or ""}
        problem = ("no_name" if not name else "bad_role" if role not in ROLES else
                   "no_center" if role not in COUNTY_ROLES and not center else
                   "bad_center" if center and pages.centers(request).get(center) is None else
                   "weak" if weak(password) else "")
        if problem:
            return await self.staff(request, status=400, problem=problem, draft=draft)
        try:
            await pages.store(request).staff.add(name=name, center=center, role=role, token=secrets.token_urlsafe(32),
                                                 now=pages.now(request),
                                                 password_hash=await asyncio.to_thread(hash_password, password))
        except StoreError:
            return await self.staff(request, status=409, problem="exists", draft=draft)
        await pages.audit(request, "staff_added", center=center, target=name, detail=role)
        raise pages.back_to("/console/staff", done="staff_added")

    async def change(self, request: web.Request) -> web.Response:
        """reset (a new first password), unlock, disable or enable one account."""
        pages = self.pages
        if not request[ACCESS].manages_staff:
            return pages.refuse(request, 403, "forbidden")
        store, action = pages.store(request).staff, request.match_info["action"]
        account = await store.account_by_id(int(request.match_info["id"]))
        if account is None:
            return pages.refuse(request, 404, "not_found")
        member = account.member
        if action == "disable" and member.id == request[ACCESS].member.id:
            return await self.staff(request, status=409, problem="self")
        if action == "reset":
            password = str((await request.post()).get("password", ""))
            if weak(password):
                return await self.staff(request, status=400, problem="weak")
            await store.set_password(member.id, await asyncio.to_thread(hash_password, password))
        elif action == "unlock":
            await store.unlock(member.id)
        else:
            await store.set_disabled(member.id, action == "disable", pages.now(request))
        audit_action = {"reset": "staff_password_reset", "unlock": "staff_unlocked", "disable": "staff_disabled",
                        "enable": "staff_enabled"}[action]
        await pages.audit(request, audit_action, center=member.center, target=member.name)
        raise pages.back_to("/console/staff", done="staff_changed")


def routes(pages: Pages) -> list[web.RouteDef]:
    p = AdminPages(pages)
    return [web.get("/console/audit", p.audit),
            web.get("/console/staff", p.staff),
            web.post("/console/staff", p.add),
            web.post("/console/staff/{id:\\d+}/{action:reset|unlock|disable|enable}", p.change)]
