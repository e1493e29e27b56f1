"""Personal data a service needs: validated where it is entered, masked wherever it is shown."""

from __future__ import annotations

import logging
import re
from datetime import date

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


_ID_IN_TEXT = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(1[3-9]\d)\d{4}(\d{4})(?![0-9])")


def mask_in_text(text: str) -> str:
    """Every 身份证号 and mobile number inside free text, masked (for logs)."""
    return _MOBILE_IN_TEXT.sub(r"\1****\2", _ID_IN_TEXT.sub(r"\1********\2", text))


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
