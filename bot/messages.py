"""Inbound messages: one frozen dataclass per kind, built from wechatpy's parsed message.

The mapping from WeChat's MsgType/Event to our kinds is explicit (`from_wechat`); anything
else becomes `Unknown`. Nothing beyond this module and the gateway sees wechatpy types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wechatpy.events import ClickEvent, LocationEvent, SubscribeEvent, SubscribeScanEvent, UnsubscribeEvent
from wechatpy.messages import (
    ImageMessage,
    LinkMessage,
    LocationMessage,
    ShortVideoMessage,
    TextMessage,
    VideoMessage,
    VoiceMessage,
)


@dataclass(frozen=True)
class Inbound:
    openid: str       # FromUserName: the resident
    account: str      # ToUserName: our official account
    create_time: int
    msg_id: int       # 0 for events

    @property
    def dedup_key(self) -> str:
        """WeChat retries with the same MsgId; events have none, so source + time + kind."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.openid}:{self.create_time}:{type(self).__name__}"


@dataclass(frozen=True)
class Text(Inbound):
    content: str


@dataclass(frozen=True)
class Voice(Inbound):
    recognition: str  # empty when WeChat's voice recognition gave nothing


@dataclass(frozen=True)
class Location(Inbound):
    latitude: float
    longitude: float
    label: str


@dataclass(frozen=True)
class Media(Inbound):
    media: str  # image, video, shortvideo, link, file, miniprogrampage …


@dataclass(frozen=True)
class Subscribe(Inbound):
    pass


@dataclass(frozen=True)
class Unsubscribe(Inbound):
    pass


@dataclass(frozen=True)
class MenuClick(Inbound):
    key: str


@dataclass(frozen=True)
class Unknown(Inbound):
    raw_type: str


MEDIA_TYPES = {"image", "video", "shortvideo", "link", "file", "miniprogrampage", "music", "news"}


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _str(value: Any) -> str:
    if isinstance(value, list):  # a repeated tag comes back from xmltodict as a list
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def from_wechat(msg: Any) -> Inbound:
    """Turn a wechatpy message or event into our own dataclass."""
    data = msg._data if isinstance(getattr(msg, "_data", None), dict) else {}
    try:
        create_time = int(_str(data.get("CreateTime")) or 0)
    except ValueError:
        create_time = 0
    try:
        msg_id = int(_str(data.get("MsgId")) or 0)
    except ValueError:
        msg_id = 0
    base = dict(openid=_str(data.get("FromUserName")), account=_str(data.get("ToUserName")),
                create_time=create_time, msg_id=msg_id)
    match msg:
        case TextMessage():
            return Text(**base, content=_str(data.get("Content")))
        case VoiceMessage():
            return Voice(**base, recognition=_str(data.get("Recognition")).strip())
        case LocationMessage():
            return Location(**base, latitude=_float(data.get("Location_X")),
                            longitude=_float(data.get("Location_Y")), label=_str(data.get("Label")))
        case LocationEvent():
            return Location(**base, latitude=_float(data.get("Latitude")),
                            longitude=_float(data.get("Longitude")), label="")
        case ImageMessage() | VideoMessage() | ShortVideoMessage() | LinkMessage():
            return Media(**base, media=msg.type)
        case SubscribeEvent() | SubscribeScanEvent():
            return Subscribe(**base)
        case UnsubscribeEvent():
            return Unsubscribe(**base)
        case ClickEvent():
            return MenuClick(**base, key=_str(data.get("EventKey")))
    raw_type = _str(data.get("MsgType")).lower()
    if raw_type in MEDIA_TYPES:
        return Media(**base, media=raw_type)
    return Unknown(**base, raw_type=raw_type or "unknown")
