"""What the core answers with. The gateway turns these into XML; the pusher into API calls."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    """Base of every reply."""

    def to_json(self) -> str:
        return json.dumps({"type": type(self).__name__, **self.__dict__}, ensure_ascii=False)

    @staticmethod
    def from_json(raw: str) -> "Reply":
        data = json.loads(raw)
        kind = {c.__name__: c for c in (TextReply, TransferToAgent, NoReply)}[data.pop("type")]
        if kind is TextReply:
            data["more"] = tuple(data.get("more", ()))
        return kind(**data)


@dataclass(frozen=True)
class TextReply(Reply):
    """A text answer. `more` are further messages sent through the customer-service API,
    for answers longer than one WeChat message may be."""

    text: str
    more: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class TransferToAgent(Reply):
    """Hand the conversation to WeChat's customer-service (客服) seats."""


@dataclass(frozen=True)
class NoReply(Reply):
    """Nothing to say (e.g. unsubscribe); WeChat gets an empty body."""
