"""好差评: asked when a matter ends; a bad rating opens a followup case; satisfaction per center."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import CASE_DESK
from bot.cases.machine import Move
from handlers.rating import parse_score
from tests.support import notices_to


@pytest.mark.parametrize("text, expected", [
    ("5", (5, "")), ("4分 办得很快", (4, "办得很快")), ("非常不满意，跑了三趟", (1, "跑了三趟")),
    ("基本满意", (3, "")), ("明天下雨吗", None), ("6", None), ("５", (5, "")), ("给五颗星", (5, "")),
    ("不满意", (2, "")), ("還行吧", (3, "還行吧")), ("不错", (4, "不错")), ("不咋样", (2, "不咋样")),
    ("我腿脚不方便，能送过来不", None), ("养老金认证怎么弄", None), ("不好意思，问下低保", None),
])
def test_parse_score(text, expected):
    assert parse_score(text) == expected


async def _finished_case(bot, openid: str, center: str = "village-a"):
    await bot.wrote(openid)
    desk = bot.app[CASE_DESK]
    case = await desk.open(kind="proxy", openid=openid, guide="高龄津贴申领", center=center, data={})
    await desk.move(case.number, Move(to="accepted"), actor="staff:t")
    await desk.move(case.number, Move(to="completed"), actor="staff:t")
    for _ in range(200):
        if len(bot.fake.texts_to(openid)) >= 2:
            break
        await asyncio.sleep(0.02)
    return case


async def test_completion_asks_for_a_rating_and_a_bad_one_opens_a_followup(bot):
    case = await _finished_case(bot, "r1")
    assert "非常满意" in bot.fake.texts_to("r1")[-1]
    reply = await bot.say("r1", "2 等得太久了")
    assert "非常抱歉" in reply and "回访编号 Z" in reply
    followups = await bot.store.cases.list(centers=["village-a"], kind="followup")
    assert len(followups) == 1 and followups[0].data == {"case": case.number, "score": 2, "words": "等得太久了"}
    assert "没有待评价" in await bot.say("r1", "评价 1")  # rated once; a second rating changes nothing
    assert len(await bot.store.cases.list(centers=["village-a"], kind="followup")) == 1


async def test_satisfaction_per_center(bot):
    await _finished_case(bot, "r1")
    await bot.say("r1", "非常满意")
    await _finished_case(bot, "r2")
    await bot.say("r2", "1")
    await _finished_case(bot, "r3", center="village-b")
    await bot.say("r3", "3 还行")
    assert await bot.store.ratings.satisfaction() == {"village-a": (1, 2), "village-b": (1, 1)}


async def test_rating_later_by_word(bot):
    case = await _finished_case(bot, "r4")
    bot.clock.advance(hours=5)  # the rating prompt has expired as a dialog
    ask = await bot.say("r4", "我要评价")
    assert case.number in ask
    assert "谢谢" in await bot.say("r4", "5")
    assert "没有待评价" in await bot.say("r4", "评价")


async def _staff(bot, name: str = "clerk-a", center: str = "village-a") -> dict[str, str]:
    await bot.store.staff.add(name=name, center=center, role="clerk", token=f"token-{name}", now=bot.clock.now())
    return {"Authorization": f"Bearer token-{name}"}


async def test_a_result_brought_home_is_rated_after_delivery_not_at_completion(bot):
    """送证上门: 'done' at the office is not the end for the resident; the rating is asked once the
    result is in their hands, and their 5 then is taken as the rating."""
    headers = await _staff(bot)
    await bot.wrote("r-home")
    case = await bot.app[CASE_DESK].open(kind="proxy", openid="r-home", guide="高龄津贴申领", center="village-a",
                                         data={"name": "李桂兰", "phone": "13800005678", "address": "东村三组12号"})
    for to in ("accepted", "completed"):
        resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": to}, headers=headers)
        assert resp.status == 200
    completed = (await notices_to(bot, "r-home", 2))[-1]
    assert "已办结" in completed and "送到您登记的地址" in completed and "打个分" not in completed
    resp = await bot.client.post(f"/api/cases/{case.number}/transitions", json={"to": "delivered"}, headers=headers)
    assert resp.status == 200
    delivered = (await notices_to(bot, "r-home", 3))[-1]
    assert "已经送到您登记的地址" in delivered and "打个分" in delivered
    assert "已记下您的评价：非常满意" in await bot.say("r-home", "5")
    assert (await bot.store.ratings.of_case(case))["score"] == 5


async def test_a_result_collected_at_the_station_is_still_rated_at_completion(bot):
    await _finished_case(bot, "r-collect")
    assert "打个分" in bot.fake.texts_to("r-collect")[-1]


async def test_closing_a_followup_answers_the_residents_rating_not_a_new_application(bot):
    case = await _finished_case(bot, "r-unhappy")
    reply = await bot.say("r-unhappy", "1 跑了三趟才办好")
    [followup] = await bot.store.cases.list(centers=["village-a"], kind="followup")
    assert followup.number in reply
    headers = await _staff(bot)
    for to, extra in (("accepted", {}), ("completed", {"note": "已约谈窗口负责人，今后一次告知全部材料。"})):
        resp = await bot.client.post(f"/api/cases/{followup.number}/transitions", json={"to": to, **extra},
                                     headers=headers)
        assert resp.status == 200
    accepted, answered = (await notices_to(bot, "r-unhappy", 4))[-2:]
    for notice in (accepted, answered):
        assert "您对“高龄津贴申领”" in notice and case.number in notice and followup.number in notice
        assert "您的高龄津贴申领" not in notice and "已受理" not in notice and "已办结" not in notice
    assert "评价我们收到了" in accepted
    assert answered.startswith("关于您对“高龄津贴申领”") and "今后一次告知全部材料" in answered
    assert "打个分" not in answered


# -- ratings in words: each resident's own way of saying how it went --------------------------

@pytest.mark.parametrize("said, level", [
    ("挺好的 谢谢你们", 4),
    ("嗯……那个，还行吧", 3),                 # voice dictation with its fillers
    ("非常滿意，辛苦你們了", 5),             # Traditional characters
    ("差勁", 1),
    ("太慢了，跑了三趟", 2),
    ("不太满意", 2),
    ("巴适得很", 5),                         # Sichuan
    ("麻麻哋啦", 3),                         # Cantonese: so-so
    ("唔系几满意", 2),                       # Cantonese: not very satisfied
    ("不咋地", 2),                           # northern everyday speech
    ("杠杠的，老好了", 5),                   # Northeast
    ("工作人员很耐心，挺满意的", 4),
])
async def test_a_rating_in_words_is_recorded_on_the_five_levels(bot, said, level):
    case = await _finished_case(bot, "r-words")
    reply = await bot.say("r-words", said)
    names = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    assert f"已记下您的评价：{names[level]}（{level}分）" in reply
    rating = await bot.store.ratings.of_case(case)
    assert rating["score"] == level
    followups = await bot.store.cases.list(centers=["village-a"], kind="followup")
    assert len(followups) == (1 if level <= 2 else 0)     # a bad one is put right, as a digit's would be


async def test_an_unclear_rating_is_asked_again_kindly_then_recorded(bot):
    case = await _finished_case(bot, "r-thanks")
    again = await bot.say("r-thanks", "谢谢你们啊")          # thanks, but how did it go?
    assert "定个等级" in again and case.number in again
    assert await bot.store.ratings.of_case(case) is None
    assert "已记下您的评价：满意" in await bot.say("r-thanks", "满意")


async def test_praise_and_blame_at_once_are_asked_about(bot):
    case = await _finished_case(bot, "r-mixed")
    assert "定个等级" in await bot.say("r-mixed", "态度挺好，就是太慢了")
    assert "已记下您的评价：基本满意" in await bot.say("r-mixed", "3")
    assert (await bot.store.ratings.of_case(case))["words"] == ""


async def test_after_asking_once_an_unclear_reply_is_not_held_in_the_rating(bot):
    case = await _finished_case(bot, "r-vague")
    assert "定个等级" in await bot.say("r-vague", "谢谢")
    assert "定个等级" not in await bot.say("r-vague", "谢谢啊")   # asked once is enough
    assert await bot.store.ratings.of_case(case) is None
    assert case.number in await bot.say("r-vague", "我要评价")      # 评价 still finds the case


async def test_a_question_while_a_rating_is_asked_is_answered_as_a_question(bot):
    case = await _finished_case(bot, "r-asks")
    reply = await bot.say("r-asks", "老年人优待证怎么办？")
    assert "定个等级" not in reply and "老年人优待证" in reply
    assert await bot.store.ratings.of_case(case) is None


async def test_a_rating_given_hours_after_the_request_is_taken_as_the_rating_not_a_complaint(bot):
    """The request waits in the chat; a resident answers it in the evening, after the dialog let go."""
    case = await _finished_case(bot, "r-late")
    bot.clock.advance(hours=5)
    thanks = await bot.say("r-late", "2 等了半个多月，中间也没人告诉一声")
    assert "已记下您的评价" in thanks and "回访编号" in thanks
    assert [c.kind for c in await bot.store.cases.list(centers=None, openid="r-late")].count("complaint") == 0
    assert (await bot.store.ratings.of_case(case))["score"] == 2


async def test_a_bare_number_days_later_is_no_rating(bot):
    await _finished_case(bot, "r-old")
    bot.clock.advance(days=3)
    assert "已记下您的评价" not in await bot.say("r-old", "2 等了半个多月，中间也没人告诉一声")
