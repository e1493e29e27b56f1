"""Life events (高效办成一件事) through the real callback: the whole event in one answer, one
material list without repeats, and one 代办 request that opens one case with a line per service."""

from __future__ import annotations

import asyncio
import re

from bot.app import CASE_DESK
from bot.cases.machine import Move
from tests.support import notices_to

VALID_ID = "11010519491231002X"
NEWBORN_STEPS = ("出生医学证明", "预防接种证", "出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领")
SERVICES = ("出生登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领")


async def _whole_answer(bot, openid: str, question: str) -> str:
    """The reply and the messages that follow it (an answer longer than one WeChat message)."""
    before = len(bot.fake.texts_to(openid))
    first = await bot.say(openid, question)
    parts = first.count("\n") and await notices_to(bot, openid, before + 2)
    return "\n".join([first, *parts[before:]])


def _material_lines(text: str) -> list[str]:
    """The numbered lines of the merged material list."""
    section = text.split("■ 材料清单", 1)[1].split("■", 1)[0]
    return [line for line in section.splitlines() if re.match(r"\d+\. ", line)]


async def test_a_newborn_question_gets_every_step_in_order_and_one_list_without_repeats(bot):
    r = "parent-1"
    await bot.wrote(r)
    text = await _whole_answer(bot, r, "孩子刚出生要办哪些手续")
    assert "【新生儿出生一件事】" in text
    steps = [text.index(f"{n}. {name}：") for n, name in enumerate(NEWBORN_STEPS, start=1)]
    assert steps == sorted(steps)                                   # every step, in order
    assert "孩子出生的医院" in text and "预防接种门诊" in text      # the steps handled elsewhere, and where
    listed = [line.split("（")[0].split(". ", 1)[1] for line in _material_lines(text)]
    assert len(listed) == len(set(listed))                          # each material once …
    birth = next(line for line in _material_lines(text) if ". 出生医学证明（" in line)
    assert "出生登记、城乡居民基本医疗保险参保登记要用" in birth  # … with the steps that need it
    guardian = next(line for line in _material_lines(text) if ". 监护人身份证（" in line)
    assert "城乡居民基本医疗保险参保登记、社会保障卡申领要用" in guardian
    assert "都可以在清河镇便民服务中心" in text and "一次办完" in text   # where, in one visit
    assert "回复“代办”" in text


async def test_a_question_about_one_service_of_the_event_gets_that_guide(bot):
    text = await bot.say("parent-2", "出生登记要带什么")
    assert "【出生登记】" in text and "新生儿出生一件事" not in text.split("\n")[0]


async def test_a_step_number_after_the_event_answers_that_service(bot):
    r = "parent-3"
    await bot.wrote(r)
    await _whole_answer(bot, r, "孩子刚出生要办哪些手续")
    assert (await bot.say(r, "3")).startswith("【出生登记】")
    await _whole_answer(bot, r, "孩子刚出生要办哪些手续")
    step = await bot.say(r, "1")
    assert "出生医学证明" in step and "孩子出生的医院" in step and "不在便民服务中心办" in step


async def _newborn_proxy(bot, r: str) -> tuple[str, str, str]:
    """The resident asks about a newborn's papers and has the station handle them: the first
    step's reply, the summary, the confirmation."""
    await bot.wrote(r)
    await _whole_answer(bot, r, "宝宝生下来以后都要办什么证")
    start = await bot.say(r, "代办")
    await bot.say(r, "王秀英")
    await bot.say(r, "13800001234")
    await bot.say(r, VALID_ID)
    summary = await bot.say(r, "不用")
    return start, summary, await bot.say(r, "确认")


async def test_proxy_after_the_event_opens_one_case_with_a_line_per_service(bot):
    r = "parent-4"
    start, summary, done = await _newborn_proxy(bot, r)
    assert "【新生儿出生一件事】可以一次委托代办：" + "、".join(SERVICES) in start
    assert "出生医学证明：在孩子出生的医院" in start              # what the resident still does themselves
    assert "事项：新生儿出生一件事" in summary and "一起代办：" + "、".join(SERVICES) in summary
    number = done.split("编号 ")[1].split("。")[0]
    assert "这一份申请包括：" + "、".join(SERVICES) in done
    cases = await bot.store.cases.list(centers=None, openid=r)
    assert [c.number for c in cases] == [number] and cases[0].kind == "proxy"
    case = await bot.store.cases.get(number)
    assert case.guide == "新生儿出生一件事"
    assert [(l.service, l.kind, l.status) for l in case.lines] == [
        ("出生医学证明", "elsewhere", "elsewhere"), ("预防接种证", "elsewhere", "elsewhere"),
        ("出生登记", "ours", "pending"), ("城乡居民基本医疗保险参保登记", "ours", "pending"),
        ("社会保障卡申领", "ours", "pending")]
    assert "孩子出生的医院" in case.lines[0].note


async def test_each_service_of_the_event_done_is_told_to_the_resident_once(bot):
    r = "parent-7"
    _, _, done = await _newborn_proxy(bot, r)
    number = done.split("编号 ")[1].split("。")[0]
    desk = bot.app[CASE_DESK]
    await desk.move(number, Move(to="accepted"), actor="staff:test")
    for _ in range(250):   # the parts of long answers went as messages before it
        texts = bot.fake.texts_to(r)
        if texts and "已受理" in texts[-1]:
            break
        await asyncio.sleep(0.02)
    before = len(texts)
    for _ in range(2):   # a double click on 已办好
        await desk.set_line(number, 3, "done", actor="staff:test")
    told = (await notices_to(bot, r, before + 1))[before:]
    assert "出生登记已经办好了" in told[0] and number in told[0]
    assert "还在办理：城乡居民基本医疗保险参保登记、社会保障卡申领" in told[0]
    status = await bot.say(r, "我托你们办的孩子那几样证办到哪了")
    assert f"新生儿出生一件事（编号 {number}）：已受理" in status
    assert "已办好：出生登记；还在办：城乡居民基本医疗保险参保登记、社会保障卡申领" in status
    await desk.set_line(number, 4, "done", actor="staff:test")   # the wrong one, by mistake …
    await desk.set_line(number, 4, "pending", actor="staff:test")   # … taken back
    told = (await notices_to(bot, r, before + 3))[before:]
    assert "城乡居民基本医疗保险参保登记已经办好了" in told[1]
    assert told[2].startswith("更正：") and "城乡居民基本医疗保险参保登记还在办理" in told[2]
    await bot.wrote(r)   # WeChat's quota of customer-service messages opens again
    for position in (4, 5):
        await desk.set_line(number, position, "done", actor="staff:test")
    told = (await notices_to(bot, r, before + 5))[before:]
    assert "社会保障卡申领已经办好了" in told[4] and "由我们代办的几项都已办好" in told[4]
    await asyncio.sleep(0.2)
    assert len(bot.fake.texts_to(r)) == before + 5, "the double click told the resident twice"
    history = [line.note for line in (await bot.store.cases.get(number)).history]
    assert history.count("出生登记：已办好") == 1 and history.count("城乡居民基本医疗保险参保登记：改回待办理") == 1


async def test_asking_for_proxy_of_the_event_by_name_begins_it_at_once(bot):
    start = await bot.say("parent-5", "帮我办新生儿出生一件事")
    assert "可以一次委托代办" in start
    assert "姓名" in start or "材料清单" in start


async def test_an_event_with_a_service_of_two_visits_does_not_promise_one(bot):
    r = "family-6"
    await bot.wrote(r)
    text = await _whole_answer(bot, r, "家里有个残疾人，都能给他办些什么")
    assert "【残疾人服务一件事】" in text
    assert "残疾人证办理：" in text and "要跑2次" in text
    assert "一次办完" not in text and "一起递交" in text
