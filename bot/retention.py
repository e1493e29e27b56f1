"""The retention purge (个人信息保护): what residents leave behind is kept only as long as
`[retention]` says, then deleted by this job; every run that deletes something is in the audit
log. Safe to run in every worker: deleting what is already gone deletes nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.clock import Clock

log = logging.getLogger(__name__)


class Retention:
    def __init__(self, store: Any, clock: Clock, settings: Any):
        self.store = store
        self.clock = clock
        self.settings = settings

    async def purge(self) -> dict[str, int]:
        now, s = self.clock.now(), self.settings
        done = await self.store.privacy.purge(
            questions_before=now - timedelta(days=s.inquiries_days),
            cases_before=now - timedelta(days=s.closed_cases_days),
            bookings_before=now - timedelta(days=s.bookings_days),
            notices_before=now - timedelta(days=s.notices_days))
        if any(done.values()):
            detail = "，".join(f"{kind} {n}" for kind, n in done.items() if n)
            log.info("retention purge deleted %s", detail)
            await self.store.audit.add(actor="system", role="", action="retention_purge", detail=detail, now=now)
        return done
