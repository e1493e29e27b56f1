"""Inbound messages: one frozen dataclass per kind, built from wechatpy's parsed message.

The mapping from WeChat's MsgType/Event to our kinds is explicit (`from_wechat`): messages by
their wechatpy class, events by their Event name. A message of another type becomes `Unknown`
(the resident sent something we cannot read: they are told so); an event WeChat sends that needs
no answer (VIEW, TEMPLATESENDJOBFINISH, kf_*, card and qualification events, a picture
picker's notice …) becomes `Acknowledged`, `TemplateReport` or `LocationReport`, which have
`needs_answer = False`. Nothing beyond this module and the gateway sees wechatpy types.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

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

    # False for what WeChat tells us without the resident asking anything: answered with an
    # empty body, it neither records the resident as writing nor counts toward their rate limit
    needs_answer: ClassVar[bool] = True
    # what WeChat lets the account send back on it (`Residents.acted`): "message" (a resident's message),
    # "event" (a menu click, a follow, a scan) or None (nothing: a report, a VIEW …)
    grants: ClassVar[str | None] = "message"

    @property
    def dedup_key(self) -> str:
        """WeChat retries a message with the same MsgId, which is unique per sender only; events
        have none, so sender + time + kind, and what tells two events of one second apart."""
        if self.msg_id:
            return f"msg:{self.openid}:{self.msg_id}"
        key = f"evt:{self.openid}:{self.create_time}:{type(self).__name__}"
        return f"{key}:{self.detail}" if self.detail else key

    @property
    def detail(self) -> str:
        """What distinguishes two events of this kind sent by one resident in the same second."""
        return ""


@dataclass(frozen=True)
class Text(Inbound):
    content: str


@dataclass(frozen=True)
class Voice(Inbound):
    # what WeChat's recognition heard: None when recognition is off on the account (no
    # Recognition field at all), empty when it heard nothing it could write down
    recognition: str | None
    media_id: str = ""   # MediaId: the recording, for WeChat's media download


@dataclass(frozen=True)
class Location(Inbound):
    """A location the resident sent (a location message, or the menu's location picker)."""

    latitude: float
    longitude: float
    label: str

    @property
    def readable(self) -> bool:
        return _on_earth(self.latitude, self.longitude)


@dataclass(frozen=True)
class LocationReport(Inbound):
    """WeChat reporting where the resident is (LOCATION event: when the chat opens, or every few
    seconds if the account asks for it). Kept as their last location, never answered."""

    latitude: float
    longitude: float
    needs_answer: ClassVar[bool] = False
    grants: ClassVar[str | None] = None

    @property
    def readable(self) -> bool:
        return _on_earth(self.latitude, self.longitude)


@dataclass(frozen=True)
class Media(Inbound):
    media: str  # image, video, shortvideo, link, file, miniprogrampage …
    media_id: str = ""   # MediaId of an image or video, for WeChat's media download


@dataclass(frozen=True)
class Subscribe(Inbound):
    scene: str = ""   # the QR code's scene when the resident followed by scanning one (qrscene_…)
    grants: ClassVar[str | None] = "event"


@dataclass(frozen=True)
class Scan(Inbound):
    """A follower scanned one of the account's QR codes (SCAN): its scene, e.g. a station's id."""

    scene: str
    grants: ClassVar[str | None] = "event"

    @property
    def detail(self) -> str:
        return self.scene


@dataclass(frozen=True)
class ScanCode(Inbound):
    """The menu's "scan and wait for a message" button (scancode_waitmsg): what was scanned."""

    key: str
    result: str
    grants: ClassVar[str | None] = "event"

    @property
    def detail(self) -> str:
        return f"{self.key}:{self.result}"


@dataclass(frozen=True)
class Unsubscribe(Inbound):
    grants: ClassVar[str | None] = None


@dataclass(frozen=True)
class MenuClick(Inbound):
    key: str
    grants: ClassVar[str | None] = "event"

    @property
    def detail(self) -> str:
        return self.key


@dataclass(frozen=True)
class TemplateReport(Inbound):
    """WeChat's report on a template message we sent (TEMPLATESENDJOBFINISH): `success`, or
    `failed:user block`, `failed: system failed` …"""

    template_msgid: str
    status: str
    needs_answer: ClassVar[bool] = False
    grants: ClassVar[str | None] = None

    @property
    def detail(self) -> str:
        return self.template_msgid

    @property
    def delivered(self) -> bool:
        return self.status.strip().lower() == "success"


@dataclass(frozen=True)
class Acknowledged(Inbound):
    """An event that needs no answer: WeChat gets `success`, the resident nothing."""

    event: str
    key: str = ""
    needs_answer: ClassVar[bool] = False

    @property
    def detail(self) -> str:
        return f"{self.event}:{self.key}" if self.key else self.event

    @property
    def grants(self) -> str | None:  # type: ignore[override]
        """The menu's plain scan button (scancode_push) needs no answer but opens a quota."""
        return "event" if self.event == "scancode_push" else None


@dataclass(frozen=True)
class Unknown(Inbound):
    raw_type: str


MEDIA_TYPES = {"image", "video", "shortvideo", "link", "file", "miniprogrampage", "music", "news"}

# Events WeChat sends that need no answer, as WeChat names them (lower case). Any other event
# not mapped in `_event` is acknowledged the same way, and logged by the front desk.
SILENT_EVENTS = frozenset({
    "view", "view_miniprogram", "masssendjobfinish", "scancode_push",
    "pic_sysphoto", "pic_photo_or_album", "pic_weixin",          # the picture follows as a message
    "kf_create_session", "kf_close_session", "kf_switch_session", "user_enter_tempsession",
    "qualification_verify_success", "qualification_verify_fail", "naming_verify_success",
    "naming_verify_fail", "annual_renew", "verify_expired", "poi_check_notify", "wificonnected",
    "shakearoundusershake", "merchant_order", "wxa_media_check",
    "card_pass_check", "card_not_pass_check", "user_get_card", "user_gifting_card", "user_del_card",
    "user_consume_card", "user_pay_from_pay_cell", "user_view_card", "user_enter_session_from_card",
    "update_member_card", "card_sku_remind", "card_pay_order", "submit_membercard_user_info",
    "user_scan_product", "user_scan_product_enter_session", "user_scan_product_async",
    "user_scan_product_verify_action", "user_authorize_invoice", "update_invoice_status",
    "submit_invoice_title", "publishjobfinish", "subscribe_msg_popup_event",
    "subscribe_msg_change_event", "subscribe_msg_sent_event",
})


# Every kind by name, for a message kept with its claim until it is answered (`to_json`)
KINDS: dict[str, type[Inbound]] = {kind.__name__: kind for kind in (
    Text, Voice, Location, LocationReport, Media, Subscribe, Scan, ScanCode, Unsubscribe, MenuClick,
    TemplateReport, Acknowledged, Unknown)}


def to_json(message: Inbound) -> str:
    """Every field is a plain value: read one by one (asdict copies deeply, at 8× the cost)."""
    return json.dumps({"kind": type(message).__name__, **{f.name: getattr(message, f.name) for f in fields(message)}},
                      ensure_ascii=False)


def from_json(raw: str) -> Inbound:
    fields = json.loads(raw)
    return KINDS[fields.pop("kind")](**fields)


def _on_earth(latitude: float, longitude: float) -> bool:
    return math.isfinite(latitude) and math.isfinite(longitude) and abs(latitude) <= 90 and abs(longitude) <= 180


def _float(value: Any) -> float:
    try:
        return float(_str(value) if isinstance(value, list) else value)
    except (TypeError, ValueError):
        return float("nan")


def _str(value: Any) -> str:
    if isinstance(value, list):  # a repeated tag comes back from xmltodict as a list
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict:
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


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
    raw_type = _str(data.get("MsgType")).lower()
    if raw_type == "event":
        return _event(_str(data.get("Event")).lower(), data, base)
    match msg:
        case TextMessage():
            return Text(**base, content=_str(data.get("Content")))
        case VoiceMessage():
            heard = _str(data["Recognition"]).strip() if "Recognition" in data else None   # <Recognition/>: ""
            return Voice(**base, recognition=heard, media_id=_str(data.get("MediaId")))
        case LocationMessage():
            return Location(**base, latitude=_float(data.get("Location_X")),
                            longitude=_float(data.get("Location_Y")), label=_str(data.get("Label")))
        case ImageMessage() | VideoMessage() | ShortVideoMessage() | LinkMessage():
            return Media(**base, media=msg.type, media_id=_str(data.get("MediaId")))
    if raw_type in MEDIA_TYPES:
        return Media(**base, media=raw_type, media_id=_str(data.get("MediaId")))
    return Unknown(**base, raw_type=raw_type or "unknown")


def _event(event: str, data: dict, base: dict) -> Inbound:
    key = _str(data.get("EventKey"))
    match event:
        case "subscribe" | "subscribe_scan_product":   # also followed from a product page (scanbarcode|…)
            return Subscribe(**base)
        case "subscribe_scan":   # wechatpy's name for a subscribe whose EventKey was qrscene_<scene>
            return Subscribe(**base, scene=key.removeprefix("qrscene_"))
        case "scan":
            return Scan(**base, scene=key)
        case "unsubscribe":
            return Unsubscribe(**base)
        case "click":
            return MenuClick(**base, key=key)
        case "location":
            return LocationReport(**base, latitude=_float(data.get("Latitude")),
                                  longitude=_float(data.get("Longitude")))
        case "location_select":
            info = _dict(data.get("SendLocationInfo"))
            return Location(**base, latitude=_float(info.get("Location_X")), longitude=_float(info.get("Location_Y")),
                            label=_str(info.get("Poiname")) or _str(info.get("Label")))
        case "scancode_waitmsg":
            info = _dict(data.get("ScanCodeInfo"))
            return ScanCode(**base, key=key, result=_str(info.get("ScanResult")).strip())
        case "templatesendjobfinish":
            return TemplateReport(**base, template_msgid=_str(data.get("MsgID")), status=_str(data.get("Status")))
    return Acknowledged(**base, event=event or "unknown", key=key[:64])
