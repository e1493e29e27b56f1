"""Personal data a service needs: validated where it is entered, masked wherever it is shown."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_MOBILE = re.compile(r"1[3-9]\d{9}")
_NAME = re.compile(r"[\u4e00-\u9fff·]{2,15}|[A-Za-z][A-Za-z .'-]{1,39}")


def id_number_ok(value: str) -> bool:
    """An 18-character 居民身份证号码 with a valid birth date and check digit (GB 11643)."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS))
    return _CHECK[total % 11] == value[17]


def mobile_ok(value: str) -> bool:
    return bool(_MOBILE.fullmatch(value.strip()))


def name_ok(value: str) -> bool:
    return bool(_NAME.fullmatch(value.strip()))


def mask_id_number(value: str) -> str:
    value = value.strip().upper()
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "***"


def mask_mobile(value: str) -> str:
    value = value.strip()
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "***"


def mask_name(value: str) -> str:
    value = value.strip()
    return value[0] + "*" * (len(value) - 1) if value else ""


def mask_address(value: str) -> str:
    """The village or street stays, the house goes: enough to know the area, not the door."""
    value = value.strip()
    kept = min(6, len(value) // 2)
    return value[:kept] + "*" * (len(value) - kept) if value else ""


_MASKS = {"name": mask_name, "phone": mask_mobile, "id_number": mask_id_number, "address": mask_address}


def case_fields(data: dict[str, Any], *, address: bool = True, revealed: bool = False) -> dict[str, Any]:
    """A case's data as staff see it: name, phone and 身份证号 masked, and the address too unless
    `address` (one case at a time shows where to go; a list of cases does not); everything as it
    is once `revealed` — which only an audited reveal may ask for. A number typed into other
    words (a complaint, a reason) is masked as in logs. The stored `*_masked` copies are left
    out: the masks are made here."""
    out = {k: v for k, v in data.items() if not k.endswith("_masked")}
    if revealed:
        return out
    for name, value in out.items():
        if isinstance(value, str) and value:
            mask = _MASKS.get(name, mask_in_text)   # a number typed into the resident's words too
            out[name] = value if name == "address" and address else mask(value)
    return out


# Numbers as people type them into a question: half- or full-width digits, and a space or a
# dash between any two of them (138 1234 5678, 138-1234-5678, an ID number typed in groups); a
# mobile number may carry the country code (+86, 0086, 86).
_D = "[0-9０-９]"
_S = "[ \u3000\\-－‐–—]?"
_EDGE_BEFORE = f"(?<!{_D})(?<!{_D}[ \u3000\\-－‐–—])"
_EDGE_AFTER = f"(?!{_S}{_D})"
_ID_IN_TEXT = re.compile(f"{_EDGE_BEFORE}{_D}(?:{_S}{_D}){{16}}{_S}[0-9０-９XxＸｘ]{_EDGE_AFTER}")
_MOBILE_IN_TEXT = re.compile(
    f"{_EDGE_BEFORE}(?P<code>(?:[+＋]|00|００)?(?:86|８６){_S})?(?P<number>[1１]{_S}[3-9３-９](?:{_S}{_D}){{9}}){_EDGE_AFTER}")
_HALF = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX", " \u3000-－‐–—")


def _plain(typed: str) -> str:
    """A number as typed, in half-width digits without spaces or dashes (x as X)."""
    return typed.translate(_HALF).upper()


def split_personal(text: str) -> tuple[str, list[str]]:
    """Free text with every 身份证号 and mobile number masked, and the numbers it held (plain
    digits, ID numbers first): what a question may be stored as, and what must be kept apart."""
    found: list[str] = []

    def id_number(m: re.Match[str]) -> str:
        found.append(number := _plain(m.group(0)))
        return number[:6] + "********" + number[-4:]

    def mobile(m: re.Match[str]) -> str:
        found.append(number := _plain(m.group("number")))
        return (m.group("code") or "") + number[:3] + "****" + number[-4:]

    masked = _MOBILE_IN_TEXT.sub(mobile, _ID_IN_TEXT.sub(id_number, text))
    return masked, found


def mask_in_text(text: str) -> str:
    """Every 身份证号 and mobile number inside free text, masked (for logs and stored questions)."""
    return split_personal(text)[0]


class MaskPersonalData(logging.Filter):
    """A log handler's filter: the finished message has no readable 身份证号 or phone number,
    whatever a resident typed and whichever code logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_in_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_in_text(logging.Formatter().formatException(record.exc_info))
        return True
