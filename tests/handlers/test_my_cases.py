"""A resident withdraws a case not yet accepted and answers a request for materials."""

from __future__ import annotations

import pytest

from bot.app import CASE_DESK
from bot.cases.machine import Move


async def _case(bot, openid: str):
    return await bot.app[CASE_DESK].open(kind="proxy", openid=openid, guide="高龄津贴申领", center="village-a",
                                         data={})


async def test_withdraw_before_acceptance_only(bot):
    first = await _case(bot, "r1")
    assert "已撤回" in await bot.say("r1", "我不想办了，撤回")
    assert (await bot.store.cases.get(first.number)).state == "cancelled"
    second = await _case(bot, "r1")
    await bot.app[CASE_DESK].move(second.number, Move(to="accepted"), actor="staff:t")
    assert "已经受理" in await bot.say("r1", f"撤回 {second.number}")
    assert (await bot.store.cases.get(second.number)).state == "accepted"


async def test_someone_elses_case_cannot_be_withdrawn(bot):
    other = await _case(bot, "r2")
    assert "没有找到" in await bot.say("r1", f"撤回 {other.number}")
    assert (await bot.store.cases.get(other.number)).state == "submitted"


async def test_reply_to_need_materials_is_recorded_on_the_case(bot):
    case = await _case(bot, "r1")
    desk = bot.app[CASE_DESK]
    await desk.move(case.number, Move(to="accepted"), actor="staff:t")
    await desk.move(case.number, Move(to="need_materials", note="1. 户口簿复印件"), actor="staff:t")
    assert "已记在办件" in await bot.say("r1", "补材料 户口簿复印件明天送到村里")
    history = (await bot.store.cases.get(case.number)).history
    assert history[-1].actor == "resident" and "户口簿复印件明天送到村里" in history[-1].note
    assert (await bot.store.cases.get(case.number)).state == "need_materials"


async def test_a_status_question_that_names_a_service_gets_that_services_case(bot):
    desk = bot.app[CASE_DESK]
    allowance = await _case(bot, "r1")
    disability = await desk.open(kind="proxy", openid="r1", guide="残疾人证办理", center="village-a", data={})
    await desk.move(allowance.number, Move(to="accepted"), actor="staff:t")
    text = await bot.say("r1", "俺爹的高龄津贴交上去好些天了，办到哪一步了")
    assert "您的【高龄津贴申领】办件" in text and allowance.number in text and "已受理" in text
    assert disability.number not in text
    text = await bot.say("r1", "建房审批交上去两个月了，批下来没有，办到哪了")
    assert "没有查到您【农村村民住宅建设审批】的办件记录" in text and "0571-12345678" in text
    assert allowance.number in text and disability.number in text   # what they do have here
    assert "您最近的办件" in await bot.say("r1", "查进度")
    assert "还没有办件记录" in await bot.say("r2", "查进度")



@pytest.mark.parametrize("words", ["俺的事办得咋样了", "办好了没呀", "嗯那个啥时候能拿到", "我那個事辦到哪一步了",
                                   "ban hao le mei"])
async def test_status_in_everyday_words_names_the_open_case_or_says_there_is_none(bot, words):
    none = await bot.say("r-none", words)
    assert "还没有办件记录" in none and "代办" in none
    case = await _case(bot, "r-open")
    await bot.app[CASE_DESK].move(case.number, Move(to="accepted"), actor="staff:t")
    told = await bot.say("r-open", words)
    assert case.number in told and "已受理" in told


@pytest.mark.parametrize("words", ["不想办了", "算了不办了吧", "嗯 不想辦了"])
async def test_giving_up_in_words_asks_before_a_submitted_case_is_withdrawn(bot, words):
    case = await _case(bot, "r-give-up")
    asked = await bot.say("r-give-up", words)
    assert f"撤回 {case.number}" in asked and (await bot.store.cases.get(case.number)).state == "submitted"
    assert "已撤回" in await bot.say("r-give-up", f"撤回 {case.number}")
    assert (await bot.store.cases.get(case.number)).state == "cancelled"
