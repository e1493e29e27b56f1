"""No 身份证号 or phone number reaches the logs, whatever a resident typed."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT
from bot.personal import MaskPersonalData, mask_in_text, split_personal


def test_numbers_inside_any_text_are_masked():
    said = "我叫王秀英，电话13800001234，身份证11010519491231002X，订单号202611240001234567890"
    masked = mask_in_text(said)
    assert "138****1234" in masked and "110105********002X" in masked
    assert "13800001234" not in masked and "11010519491231002X" not in masked
    assert "202611240001234567890" in masked   # a longer number is neither


@pytest.mark.parametrize("typed, masked", [
    ("电话 +86 138 0000 1234 回电", "电话 +86 138****1234 回电"),
    ("手机138-0000-1234", "手机138****1234"),
    ("手机 138 0000 1234。", "手机 138****1234。"),
    ("号码１３８００００１２３４", "号码138****1234"),
    ("0086-13800001234", "0086-138****1234"),
    ("身份证号 110105 19491231 002x 帮我查", "身份证号 110105********002X 帮我查"),
    ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证110105********002X"),
])
def test_numbers_are_masked_in_the_forms_people_type_them(typed, masked):
    assert mask_in_text(typed) == masked
    assert split_personal(typed)[1] in (["13800001234"], ["11010519491231002X"])


def test_dates_times_and_longer_numbers_are_left_alone():
    for said in ("11月24日 9 30 去办", "订单号 2026 1124 0001 2345 678", "138 0000 1234 5"):
        assert mask_in_text(said) == said and split_personal(said)[1] == []


def test_the_server_logs_through_the_mask():
    script = ("import logging, sys; from bot.cli import _logging; _logging('INFO'); "
              "logging.getLogger('x').warning('resident said %r', '电话 13912345678'); "
              "logging.getLogger('x').error('boom', exc_info=ValueError('id 11010519491231002X'))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert "139****5678" in done.stderr and "13912345678" not in done.stderr
    assert "110105********002X" in done.stderr and "11010519491231002X" not in done.stderr


def test_the_filter_keeps_the_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "phone %s", ("13800001234",), None)
    assert MaskPersonalData().filter(record) and record.getMessage() == "phone 138****1234"
