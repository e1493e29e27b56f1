"""What every store backend offers, as small value types and protocols.

Handlers only use these; the SQLite backend implements them today, and a PostgreSQL or
Redis backend can be added beside it without touching a handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class Dialog:
    """A resident's place in a multi-step dialog: a named state like "faq:choose" and its data."""

    state: str
    data: dict[str, Any] = field(default_factory=dict)


def kept_key(openid: str) -> str:
    """Where a step the resident left is kept to be taken up again (bot/steps.py): beside their
    dialog, in the same repository."""
    return f"{openid}#kept"


TOPIC = ("number", "matter", "status")   # what a notice's topic says (templates/chat/notice_topic.txt)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    openid: str
    text: str
    attempts: int
    last_message_at: datetime | None = None  # the resident's last message: WeChat's 48-hour window
    created_at: datetime | None = None       # when the notice was written (or staff resent it):
                                             # retried for a day from then
    topic: dict[str, str] | None = None      # what a template message's fields say of it (a case
                                             # notice: number, matter, status)


class DialogRepo(Protocol):
    async def get(self, openid: str, now: datetime, idle: timedelta) -> Dialog | None: ...
    async def set(self, openid: str, dialog: Dialog, now: datetime) -> None: ...
    async def clear(self, openid: str) -> None: ...


class OutboxRepo(Protocol):
    async def add(self, openid: str, texts: list[str], now: datetime) -> None: ...
    async def due(self, now: datetime, limit: int = 20) -> list[OutboxItem]: ...
    async def sent(self, item_id: int, now: datetime) -> None: ...
    async def failed(self, item_id: int, error: str, retry_at: datetime | None, now: datetime) -> None: ...
