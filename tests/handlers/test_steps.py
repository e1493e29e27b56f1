"""Steps of a dialog through /wechat: the ways out (转人工, 进度, 不想办了, a new question), the step
kept for 继续, answers in words (明天, 九点半, 上午), the way out offered after two misses, and
confirmations that show what was entered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import notices_to

VALID_ID = "11010519491231002X"


async def _dialog(bot, openid: str):
    return await bot.store.dialogs.get(openid, bot.clock.now(), timedelta(hours=1))


async def _in_booking_day_step(bot, openid: str) -> None:
    await bot.say(openid, "我想预约办社保卡")
    assert "预约地点：清河镇便民服务中心" in await bot.say(openid, "1")


@pytest.mark.parametrize("words", ["转人工", "轉人工", "嗯那个我要找人工", "zhuan ren gong"])
async def test_asking_for_a_person_in_the_middle_of_a_booking_leaves_it_and_keeps_it(bot, words):
    await _in_booking_day_step(bot, "r1")
    text = await bot.say("r1", words)
    assert "请回复序号" not in text and "选日期" not in text
    assert "工作人员" in text and "和工作人员的对话结束后（回复“结束”），回复“继续预约”接着办" in text
    assert await _dialog(bot, "r1") is None
    assert len(await bot.store.handoffs.listed("waiting")) == 1
    assert "对话已结束" in await bot.say("r1", "结束")
    text = await bot.say("r1", "继续预约")
    assert "预约地点：清河镇便民服务中心" in text and "1. 11月24日" in text
    assert "11月25日 周三（明天），清河镇便民服务中心可以约的时间" in await bot.say("r1", "明天")


@pytest.mark.parametrize("words", ["俺的事办到哪了", "进度", "查一下进度"])
async def test_asking_for_progress_in_a_proxy_step_answers_it_and_continue_asks_the_step_again(bot, words):
    await bot.say("r2", "代办高龄津贴")
    text = await bot.say("r2", words)
    assert "姓名" not in text.split("\n\n")[0] and "回复“继续代办”接着办" in text
    text = await bot.say("r2", "繼續代辦")
    assert "请告诉我您的姓名" in text
    assert "手机号" in await bot.say("r2", "王秀英")


@pytest.mark.parametrize("words", ["不想办了", "我不办了", "算了吧", "先不弄了", "算了不办了", "哎呀算了", "不办了谢谢"])
async def test_not_wanting_to_go_on_leaves_the_step_but_never_withdraws_a_submitted_case(bot, words):
    await bot.say("r3", "代办高龄津贴")
    for answer in ("王秀英", "13800001234", VALID_ID, "不用", "确认"):
        await bot.say("r3", answer)
    [case] = await bot.store.cases.list(centers=None, openid="r3")
    assert case.state == "submitted"
    await bot.say("r3", "我要代办社保卡补办")
    assert "已退出" in await bot.say("r3", words)
    assert await _dialog(bot, "r3") is None
    [still] = await bot.store.cases.list(centers=None, openid="r3")
    assert still.number == case.number and still.state == "submitted"


async def test_a_request_given_as_a_name_is_not_stored_as_the_name(bot):
    await bot.say("r4", "我要代办")
    assert "可以代办" in await bot.say("r4", "残疾人证")
    text = await bot.say("r4", "代办高龄津贴")   # a new request, not a name
    assert "高龄津贴申领" in text and "姓名" in text
    await bot.say("r4", "李桂兰")
    assert (await _dialog(bot, "r4")).data["name"] == "李桂兰"
    assert (await _dialog(bot, "r4")).data["guide"] == "高龄津贴申领"


async def test_a_service_name_given_as_the_home_visit_address_is_answered_not_stored(bot):
    await bot.say("r5", "老人瘫在床上来不了，能上门办养老金认证吗")
    await bot.say("r5", "3")
    text = await bot.say("r5", "养老金认证")
    assert "养老金领取资格认证" in text and "回复“继续上门”接着办" in text
    assert await _dialog(bot, "r5") is None or (await _dialog(bot, "r5")).state.startswith("faq")
    text = await bot.say("r5", "继续上门")
    assert "详细地址" in text
    assert "联系电话" in await bot.say("r5", "清河镇东村3组12号")
    assert (await _dialog(bot, "r5")).data["address"] == "清河镇东村3组12号"


async def test_a_new_question_in_a_step_is_answered_and_the_step_kept(bot):
    await _in_booking_day_step(bot, "r6")
    text = await bot.say("r6", "对了 低保要带啥材料")
    pushed = await notices_to(bot, "r6", 1)
    assert "最低生活保障" in text and "回复“继续预约”接着办" in pushed[-1]


async def test_day_and_time_in_words_at_the_day_step_go_straight_to_confirmation(bot):
    await _in_booking_day_step(bot, "r7")
    text = await bot.say("r7", "明天上午九点半")
    assert "请核对预约信息" in text and "11月25日 周三（明天） 09:30" in text
    assert "事项：社会保障卡申领" in text and "地点：清河镇便民服务中心" in text


async def test_a_time_before_its_day_is_kept_and_the_day_is_asked_plainly(bot):
    await _in_booking_day_step(bot, "r8")
    text = await bot.say("r8", "九点半")
    assert "09:30记下了" in text and "先选哪一天" in text
    text = await bot.say("r8", "后天")
    assert "请核对预约信息" in text and "11月26日 周四（后天） 09:30" in text


async def test_a_day_named_at_the_center_step_is_kept_for_the_day_step(bot):
    await bot.say("r9", "预约社保卡")
    text = await bot.say("r9", "下周一")
    assert "时间记下了" in text and "先选去哪里办" in text
    text = await bot.say("r9", "1")
    assert "11月30日 周一，清河镇便民服务中心可以约的时间" in text


async def test_a_part_of_the_day_at_the_time_step_narrows_the_times(bot):
    await _in_booking_day_step(bot, "r10")
    await bot.say("r10", "明天")
    text = await bot.say("r10", "下午")
    assert "下午" in text and "上午" not in text.split("\n", 1)[1]
    text = await bot.say("r10", "1")
    assert "请核对预约信息" in text and "11月25日 周三（明天） 1" in text


async def test_two_misses_in_a_step_offer_the_way_out(bot):
    await _in_booking_day_step(bot, "r11")
    first = await bot.say("r11", "啊")
    assert "选日期这一步" in first and "转人工" not in first
    second = await bot.say("r11", "俺不懂")
    assert "转人工" in second and "取消" in second and "哪一天去" in second
    assert (await _dialog(bot, "r11")).state == "booking:day"


async def test_two_wrong_id_numbers_then_a_request_for_a_person_is_heard(bot):
    await bot.say("r12", "代办高龄津贴")
    await bot.say("r12", "王秀英")
    await bot.say("r12", "13800001234")
    assert "不对" in await bot.say("r12", "110105194912310021")
    stuck = await bot.say("r12", "110105194912310022")
    assert "18位身份证号码" in stuck and "转人工" in stuck
    text = await bot.say("r12", "人工")
    assert "身份证号码好像不对" not in text and "工作人员" in text


async def test_leaving_a_binding_choice_for_a_person(bot):
    assert "回复序号" in await bot.say("r13", "绑定")
    text = await bot.say("r13", "帮我转人工")
    assert "工作人员" in text and await _dialog(bot, "r13") is None


async def test_home_visit_times_in_words_and_the_confirmation_shows_everything(bot):
    await bot.say("r14", "预约上门办残疾人证")
    await bot.say("r14", "2")
    await bot.say("r14", "清河镇东村5组8号")
    await bot.say("r14", "13900001111")
    text = await bot.say("r14", "明天上午")
    assert "请核对上门服务信息" in text and "方便的时间：11月25日 周三（明天）上午" in text
    assert "地址：清河镇东村5组8号" in text and "清河镇便民服务中心" in text


async def test_voice_in_a_step_is_read_like_text(bot):
    from bot.wechat.simulator import voice_xml
    await _in_booking_day_step(bot, "r15")
    reply = await bot.send(voice_xml("r15", "嗯那个转人工吧", create_time=int(bot.clock.timestamp())))
    assert "工作人员" in reply["Content"] and "继续预约" in reply["Content"]


async def test_cancelling_a_booking_right_after_a_guide_answer_cancels_it(bot):
    await _in_booking_day_step(bot, "r16")
    await bot.say("r16", "明天上午九点半")
    assert "预约成功" in await bot.say("r16", "确认")
    await bot.say("r16", "老年证怎么办")
    text = await bot.say("r16", "取消预约")
    assert "已退出" not in text and "社会保障卡申领" in text


async def test_asking_to_book_right_after_an_answer_books_the_service_just_told(bot):
    assert "【社会保障卡申领】" in await bot.say("r20", "第一次办社保卡要带什么")
    text = await bot.say("r20", "能预约吗")
    assert "请问要办什么事" not in text and "社会保障卡申领" in text
    assert (await _dialog(bot, "r20")).data["guide"] == "社会保障卡申领"


@pytest.mark.parametrize("words", ["以后再说吧", "我再想想", "改天再约", "不用了谢谢"])
async def test_putting_a_booking_off_keeps_it_and_continue_takes_it_up_where_it_was(bot, words):
    await _in_booking_day_step(bot, "r21")
    text = await bot.say("r21", words)
    assert "先放一放" in text and "回复“继续预约”接着办" in text and "请回复序号" not in text
    assert await _dialog(bot, "r21") is None
    text = await bot.say("r21", "继续预约")
    assert "预约地点：清河镇便民服务中心" in text and "请问要办什么事" not in text


async def test_continue_in_the_middle_of_a_booking_asks_its_step_again_not_a_new_booking(bot):
    await _in_booking_day_step(bot, "r22")
    text = await bot.say("r22", "继续预约")
    assert "预约地点：清河镇便民服务中心" in text and "请问要办什么事" not in text
    assert (await _dialog(bot, "r22")).data["guide"] == "社会保障卡申领"


async def test_cancel_booking_in_the_middle_of_a_booking_ends_this_one_and_keeps_the_one_made(bot):
    await _in_booking_day_step(bot, "r23")
    text = await bot.say("r23", "取消预约")
    assert "这次先不约了" in text and "没有待办的预约" not in text and "继续预约" not in text
    assert await _dialog(bot, "r23") is None

    await _in_booking_day_step(bot, "r24")
    await bot.say("r24", "明天上午九点半")
    assert "预约成功" in await bot.say("r24", "确认")
    await bot.say("r24", "我还想预约办老年证")
    text = await bot.say("r24", "取消预约")
    assert "这次先不约了" in text and "之前约好的 1 个预约还在" in text
    assert len(await bot.store.bookings.upcoming("r24", bot.clock.now())) == 1


@pytest.mark.parametrize("words", ["不用了", "不用了，谢谢", "没事了"])
async def test_declining_after_an_answer_is_taken_kindly_not_as_a_request(bot, words):
    await bot.say("r25", "社保卡丢了怎么办")
    text = await bot.say("r25", words)
    assert "随时问我" in text and "预约" not in text and "答不上来" not in text
