"""代办 through the real callback: request, every detail validated, case number, status pushes."""

from __future__ import annotations

from datetime import timedelta

from bot.app import CASE_DESK
from bot.cases.machine import Move
from tests.support import notices_to

VALID_ID = "11010519491231002X"  # a well-formed number (check digit X) used in the standard's examples


async def test_resident_asks_for_proxy_and_hears_every_move(bot):
    r = "resident-proxy"
    start = await bot.say(r, "我在外地打工回不去，奶奶的高龄津贴能不能请村里帮忙代办一下")
    assert "高龄津贴申领" in start and "可以代办" in start and "居民身份证" in start and "姓名" in start
    assert "不对" in await bot.say(r, "12345")
    assert "手机号" in await bot.say(r, "王秀英")
    assert "不对" in await bot.say(r, "1380000")
    assert "身份证" in await bot.say(r, "138 0000 1234")
    assert "不对" in await bot.say(r, "110105194912310021")        # wrong check digit
    assert "送证上门" in await bot.say(r, VALID_ID.lower())
    summary = await bot.say(r, "不用")
    assert "姓名：王秀英" in summary and "138****1234" in summary and "110***********002X" in summary
    assert VALID_ID not in summary and "13800001234" not in summary
    done = await bot.say(r, "确认")
    number = done.split("编号 ")[1].split("。")[0]
    assert number.startswith("D")
    await bot.say(r, "确认")  # a double tap on 确认 opens nothing new
    cases = await bot.store.cases.list(centers=None, openid=r)
    assert len(cases) == 1 and cases[0].data["id_number"] == VALID_ID and cases[0].center == "town-center"

    desk = bot.app[CASE_DESK]
    await desk.move(number, Move(to="accepted"), actor="staff:test")
    await desk.move(number, Move(to="completed", note="津贴已从下月起发放。"), actor="staff:test")
    pushed = await notices_to(bot, r, 2)
    assert "已受理" in pushed[0] and "已办结" in pushed[1] and number in pushed[1]
    status = await bot.say(r, "我的办件办到哪一步了")
    assert number in status and "已办结" in status


async def test_service_that_cannot_be_handled_by_proxy_says_why(bot):
    text = await bot.say("r2", "身份证能代办吗")
    assert "不能代办" in text and "本人到场" in text
    assert await bot.store.dialogs.get("r2", bot.clock.now(), timedelta(minutes=30)) is None


async def test_proxy_without_a_service_asks_which(bot):
    assert "哪件事" in await bot.say("r3", "俺啥也不懂，你们能不能全程帮俺办了")
    assert "可以代办" in await bot.say("r3", "社保卡补办")


async def test_cancel_in_the_middle_leaves_nothing(bot):
    await bot.say("r4", "高龄津贴代办")
    await bot.say("r4", "王秀英")
    assert "已退出" in await bot.say("r4", "取消")
    assert await bot.store.cases.list(centers=None, openid="r4") == []


async def test_each_step_of_a_proxy_request_asks_one_thing_and_says_the_way_out_on_its_own_line(bot):
    await bot.say("r9", "代办高龄津贴")
    for answer, asked in (("王秀英", "请回复您的手机号"), ("1380000", "手机号好像不对"), ("13800001234", "身份证号码")):
        text = await bot.say("r9", answer)
        question, way_out = text.rsplit("\n", 1)
        assert asked in question and way_out == "不办了回复“取消”。", text


async def test_an_applicant_whose_name_sounds_like_a_service_is_taken_as_the_name(bot):
    """高丽娟 read in pinyin is close to 高龄: in the name step it is a name, not a question."""
    await bot.say("r10", "社保卡补办能代办吗")
    assert "手机号" in await bot.say("r10", "高丽娟")
    await bot.say("r11", "社保卡补办能代办吗")
    assert "高龄津贴申领" in await bot.say("r11", "高龄津贴")   # a service named in so many words leaves


async def test_a_resident_who_does_not_remember_the_id_number_goes_on_and_the_station_checks_it_later(bot):
    r = "resident-no-id"
    await bot.say(r, "帮我爸代办高龄津贴")
    await bot.say(r, "王建国")
    asking = await bot.say(r, "13912345678")
    assert "记不清的话回复“跳过”" in asking
    assert "不对" in await bot.say(r, "3201")                        # a number begun is still checked
    assert "送证上门" in await bot.say(r, "他的身份证号我记不清了")   # not a question about 身份证办理
    summary = await bot.say(r, "不用")
    assert "身份证：没有填，代办员收材料时核对" in summary
    assert "编号 D" in await bot.say(r, "确认")
    [case] = await bot.store.cases.list(centers=None, openid=r)
    assert case.data["id_number"] == "" and case.data["name"] == "王建国"
