"""The knowledge base in memory: service guides, synonyms, intent phrases."""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = ("村（社区）", "镇（街道）", "县（区）", "市")
ITEM_TYPES = ("行政许可", "行政给付", "行政确认", "行政裁决", "行政征收", "行政奖励", "行政检查",
              "其他行政权力", "公共服务")
CASE_TYPES = ("即办件", "承诺件", "联办件", "上报件")
MATERIAL_FORMS = ("原件", "复印件", "原件和复印件", "电子件", "原件或电子件")
INTENTS = ("booking", "proxy", "status", "complaint", "rating", "handoff", "greeting", "centers",
           "withdraw", "materials_reply", "home_visit", "my_bookings", "cancel_booking", "reschedule", "bind")


@dataclass(frozen=True)
class Material:
    name: str
    form: str
    copies: int
    required: bool
    note: str = ""


@dataclass(frozen=True)
class Faq:
    q: str
    a: str


@dataclass(frozen=True)
class Guide:
    name: str
    department: str
    item_type: str
    case_type: str
    summary: str
    aliases: tuple[str, ...]
    accept_levels: tuple[str, ...]
    decide_level: str
    accepting_unit: str
    deciding_unit: str
    conditions: tuple[str, ...]
    process: tuple[str, ...]
    legal_days: int
    promised_days: int
    fee: str
    fee_basis: str
    online: bool
    bookable: bool
    proxy: bool
    home_visit: bool
    delivery: bool
    visits: int
    basis: tuple[str, ...]
    materials: tuple[Material, ...]
    faq: tuple[Faq, ...]
    online_hint: str = ""
    proxy_note: str = ""
    local_check: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    source: str = ""  # file it was loaded from

    @property
    def is_on_the_spot(self) -> bool:
        return self.promised_days == 0

    @property
    def free(self) -> bool:
        return self.fee.strip() in ("不收费", "免费", "无")


@dataclass(frozen=True)
class Knowledge:
    guides: dict[str, Guide]
    synonyms: dict[str, str] = field(default_factory=dict)
    intents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aspects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    menu: dict[str, str] = field(default_factory=dict)  # menu CLICK key → intent name
    centers: "Centers" = field(default_factory=lambda: _no_centers())

    def guide(self, name: str) -> Guide | None:
        return self.guides.get(name)


def _no_centers():
    from bot.knowledge.centers import Centers
    return Centers()
