"""Work a server does on its own, now and then: reminders, the retention purge."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)


async def every(seconds: float, work: Callable[[], Awaitable[Any]], stop: asyncio.Event, what: str) -> None:
    """Run `work` now and then every `seconds` until `stop` is set. A round that fails is logged
    and the next one tries again: one bad round never ends the job."""
    while not stop.is_set():
        try:
            await work()
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("%s failed", what)
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass
