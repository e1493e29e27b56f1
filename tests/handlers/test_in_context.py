"""Answers in context through /wechat: follow-ups about the guide just answered, and questions
about the resident's own case while it waits for materials, after an extension or a refusal."""

from __future__ import annotations

from datetime import date

import pytest

from bot.app import CASE_DESK
from bot.cases.machine import Move

VALID_ID = "11010519491231002X"


@pytest.mark.parametrize("first, then", [
    ("身份证怎么办", "别人能代办吗"),
    ("身份证丢了咋补办", "我儿子能替我去办不"),
    ("身分證怎麼辦", "可以讓別人代辦嗎"),
])
async def test_an_id_card_is_said_to_need_the_person_in_person(bot, first, then):
    assert "居民身份证办理" in await bot.say("r1", first)
    text = await bot.say("r1", then)
    assert "不能由别人代办" in text and "本人" in text and "哪件事" not in text


async def test_proxy_asked_after_a_guide_is_about_that_guide_and_then_begins_it(bot):
    await bot.say("r2", "高龄津贴咋申请")
    text = await bot.say("r2", "那个 嗯 能找人代办吗")
    assert "【高龄津贴申领】可以请人代办" in text and "回复“代办”" in text
    text = await bot.say("r2", "代办")
    assert "【高龄津贴申领】可以代办" in text and "姓名" in text


@pytest.mark.parametrize("first, then, said", [
    ("残疾人证怎么办", "俺腿脚不好 能上门吗", "可以预约工作人员上门办理"),
    ("个体户执照怎么办", "能上门办吗", "暂时不能上门办理"),
    ("老年证怎么办", "能网上办吗", "可以网上办"),
    ("宅基地建房咋审批", "手机上能办不", "目前不能网上办"),
    ("老年证怎么办", "多少钱", "不收费"),
    ("老年证怎么办", "要多久", "工作日"),
])
async def test_follow_ups_are_answered_from_the_guides_fields(bot, first, then, said):
    await bot.say("r3", first)
    assert said in await bot.say("r3", then)


@pytest.mark.parametrize("then, said", [
    ("要带发票吗", "不用带发票"),
    ("要不要带户口本", "户口簿"),
    ("照片要带吗", "一寸免冠彩色照片"),
])
async def test_one_thing_to_bring_is_checked_against_the_materials(bot, then, said):
    await bot.say("r4", "老年证怎么办")
    assert said in await bot.say("r4", then)


async def _proxy_case(bot, openid: str) -> str:
    await bot.say(openid, "代办高龄津贴")
    for answer in ("王秀英", "13800001234", VALID_ID, "不用"):
        await bot.say(openid, answer)
    done = await bot.say(openid, "确认")
    return done.split("编号 ")[1].split("。")[0]


@pytest.mark.parametrize("question", ["卡是农商银行的行不行", "信用社的存折可以吗", "存折是信用社的能用吗"])
async def test_a_question_while_materials_are_asked_for_is_about_that_case(bot, question):
    number = await _proxy_case(bot, "r5")
    desk = bot.app[CASE_DESK]
    await desk.move(number, Move(to="accepted"), actor="staff:test")
    await desk.move(number, Move(to="need_materials", note="老人本人名下的银行卡（存折）复印件"), actor="staff:test")
    text = await bot.say("r5", question)
    assert number in text and "需补充材料" in text and "银行卡（存折）复印件" in text and "转人工" in text
    text = await bot.say("r5", "转人工")
    assert "工作人员" in text
    [handoff] = await bot.store.handoffs.listed("waiting")
    assert number in handoff["question"] and question in handoff["question"]


@pytest.mark.parametrize("question", ["咋又延期了", "怎么又推迟了啊", "為什麼又延期"])
async def test_a_question_after_an_extension_says_why_and_until_when(bot, question):
    number = await _proxy_case(bot, "r6")
    desk = bot.app[CASE_DESK]
    await desk.move(number, Move(to="accepted"), actor="staff:test")
    await desk.move(number, Move(to="extended", note="县民政局系统升级，审核暂停三天", deadline=date(2026, 12, 10)),
                    actor="staff:test")
    text = await bot.say("r6", question)
    assert number in text and "12月10日" in text and "系统升级" in text and "转人工" in text


@pytest.mark.parametrize("words", ["凭啥不给办", "为什么不给我批 不服", "憑什麼不給辦", "这不合理吧"])
async def test_disagreeing_with_a_refusal_explains_it_and_files_no_complaint(bot, words):
    number = await _proxy_case(bot, "r7")
    desk = bot.app[CASE_DESK]
    await desk.move(number, Move(to="rejected", note="老人户籍不在本县，需回户籍地申领"), actor="staff:test")
    text = await bot.say("r7", words)
    assert "户籍不在本县" in text and "转人工" in text and "投诉" in text
    assert [c.kind for c in await bot.store.cases.list(centers=None, openid="r7")] == ["proxy"]
    text = await bot.say("r7", "投诉")
    complaints = await bot.store.cases.list(centers=None, openid="r7", kind="complaint")
    assert len(complaints) == 1 and number in complaints[0].data["words"]


async def test_a_question_with_no_waiting_case_is_answered_as_usual(bot):
    text = await bot.say("r8", "户口本复印件行不行")
    assert "办件" not in text
