"""Every kind of message a resident can send gets the answer a resident would expect."""

from __future__ import annotations

from bot.wechat.simulator import event_xml, message_xml, voice_xml


def _now(bot) -> int:
    return int(bot.clock.timestamp())


async def test_voice_with_recognition_is_answered_like_text(bot):
    reply = await bot.send(voice_xml("r1", "老年人优待证怎么办。", create_time=_now(bot)))
    assert "老年人优待证" in reply["Content"] and "居民身份证" in reply["Content"]


async def test_voice_without_recognition_asks_again(bot):
    reply = await bot.send(voice_xml("r1", "", create_time=_now(bot)))
    assert "没听清" in reply["Content"]


async def test_subscribe_welcomes_and_says_what_the_bot_does(bot):
    reply = await bot.send(event_xml("r1", "subscribe", create_time=_now(bot)))
    text = reply["Content"]
    assert "欢迎" in text and "预约" in text and "代办" in text and "转人工" in text


async def test_unsubscribe_gets_no_reply_and_marks_inactive(bot):
    await bot.send(event_xml("r1", "subscribe", create_time=_now(bot)))
    bot.clock.advance(seconds=5)
    resp = await bot.post(event_xml("r1", "unsubscribe", create_time=_now(bot)))
    assert resp.status == 200 and await resp.text() in ("", "success")
    resident = await bot.store.residents.get("r1")
    assert resident["active"] == 0 and resident["unsubscribed_at"]


async def test_menu_click_maps_to_the_same_intent_as_words(bot):
    clicked = await bot.send(event_xml("r1", "CLICK", EventKey="MENU_HANDOFF", create_time=_now(bot)))
    typed = await bot.say("r2", "转人工")
    assert "工作人员" in clicked["Content"] and "工作人员" in typed
    waiting = await bot.store.handoffs.waiting()
    assert {w["openid"] for w in waiting} == {"r1", "r2"}


async def test_unknown_menu_key_gets_help(bot):
    reply = await bot.send(event_xml("r1", "CLICK", EventKey="NO_SUCH_KEY", create_time=_now(bot)))
    assert "想办什么事" in reply["Content"]


async def test_a_location_lists_the_nearest_centers_and_binds_by_number(bot):
    reply = await bot.send(message_xml("r1", "gh", "location", Location_X=29.9110, Location_Y=120.0470, Scale=15,
                                       Label="东村文化礼堂", create_time=_now(bot)))
    text = reply["Content"]
    assert "东村文化礼堂" in text
    first = text.split("【")[1]
    assert first.startswith("清河镇东村便民服务站】（约0.1公里）") and "0579-86120011" in first
    assert "能办：1号综合服务窗口" in text
    text = await bot.say("r1", "1")
    assert "已绑定到清河镇东村便民服务站" in text and "清河镇便民服务中心" in text
    assert await bot.store.residents.center_of("r1") == "qinghe-dongcun"


async def test_image_video_link_and_file_get_a_polite_reply(bot):
    kinds = {
        "image": dict(PicUrl="http://127.0.0.1/a.jpg", MediaId="m"),
        "video": dict(MediaId="m", ThumbMediaId="t"),
        "link": dict(Title="t", Description="d", Url="http://127.0.0.1/"),
        "file": dict(Title="a.pdf", FileKey="k", FileMd5="x", FileTotalLen=10),
    }
    for kind, fields in kinds.items():
        reply = await bot.send(message_xml("r1", "gh", kind, create_time=_now(bot), **fields))
        assert "想办什么事" in reply["Content"], kind


async def test_guide_menu_asks_what_the_resident_wants_to_do(bot):
    reply = await bot.send(event_xml("r1", "CLICK", EventKey="MENU_GUIDE", create_time=_now(bot)))
    assert "您想办什么事" in reply["Content"]
