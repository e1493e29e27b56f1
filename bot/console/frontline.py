"""What happens at the window today: the appointment day view (check-in, no-show, closing a
day). Residents waiting for a person (转人工) are in `bot.console.conversations`."""

from __future__ import annotations

from aiohttp import web

from bot.appointments import NotNow
from bot.console.pages import ACCESS, Pages, field, parse_day


class FrontlinePages:
    def __init__(self, pages: Pages):
        self.pages = pages

    def _center(self, request: web.Request, center_id: str):
        """The center asked for, or the member's own (or the first they see with windows)."""
        access, centers = request[ACCESS], self.pages.centers(request)
        if center_id:
            center = centers.get(center_id)
            if center is None:
                return self.pages.refuse(request, 404, "not_found")
            if not access.sees(center.id):
                return self.pages.refuse(request, 403, "forbidden")
            return center
        seen = [c for c in centers.by_id.values() if access.sees(c.id) and c.windows]
        own = centers.get(access.member.center)
        return own if own is not None and own.windows else (seen[0] if seen else self.pages.refuse(
            request, 404, "not_found"))

    async def appointments(self, request: web.Request) -> web.Response:
        pages = self.pages
        center = self._center(request, request.query.get("center", ""))
        if isinstance(center, web.Response):
            return center
        today = pages.now(request).date()
        day = parse_day(request.query.get("date"), today)
        if day is None:
            return pages.refuse(request, 400, "bad_date")
        sheet = await pages.appointments(request).day_sheet(center, day)
        choices = [c for c in pages.centers(request).by_id.values() if request[ACCESS].sees(c.id) and c.windows]
        return pages.render(request, "appointments", center=center, day=day, today=today, sheet=sheet,
                            choices=choices, guides=pages.desk(request).library.knowledge)

    async def mark(self, request: web.Request) -> web.Response:
        pages, appointments = self.pages, self.pages.appointments(request)
        booking = await appointments.store.bookings.get(request.match_info["code"])
        if booking is None:
            return pages.refuse(request, 404, "not_found")
        if not request[ACCESS].sees(booking.center):
            return pages.refuse(request, 403, "forbidden")
        if not request[ACCESS].acts:
            return pages.refuse(request, 403, "read_only")
        action = request.match_info["action"]
        try:
            await appointments.mark(booking, action)
        except NotNow as refused:   # too early, another day, or a second click
            return pages.refuse(request, 409, refused.code, current=refused.current,
                                back=f"/console/appointments?center={booking.center}&date={booking.day.isoformat()}")
        await pages.audit(request, action, center=booking.center, target=booking.code)
        raise pages.back_to("/console/appointments", done=action, center=booking.center, date=booking.day.isoformat())

    async def close_day(self, request: web.Request) -> web.Response:
        pages = self.pages
        center = self._center(request, request.match_info["center"])
        if isinstance(center, web.Response):
            return center
        if not request[ACCESS].acts:
            return pages.refuse(request, 403, "read_only")
        form = await request.post()
        day, reason = parse_day(field(form, "date"), None), field(form, "reason")[:200]
        back = f"/console/appointments?center={center.id}"
        if day is None:
            return pages.refuse(request, 400, "bad_date", back=back)
        if not reason:
            return pages.refuse(request, 400, "no_reason", back=back)
        try:
            released = await pages.appointments(request).close_day(center, day, reason,
                                                                   by=f"staff:{request[ACCESS].member.name}")
        except NotNow as refused:
            return pages.refuse(request, 400 if refused.code == "past_day" else 409, refused.code, back=back)
        await pages.audit(request, "close_day", center=center.id, target=day.isoformat(),
                          detail=f"{reason}（取消预约 {len(released)} 个）")
        raise pages.back_to("/console/appointments", done="closed", center=center.id, date=day.isoformat(),
                            released=str(len(released)))


def routes(pages: Pages) -> list[web.RouteDef]:
    p = FrontlinePages(pages)
    return [web.get("/console/appointments", p.appointments),
            web.post("/console/appointments/{code}/{action:checkin|noshow}", p.mark),
            web.post("/console/centers/{center}/closures", p.close_day)]
