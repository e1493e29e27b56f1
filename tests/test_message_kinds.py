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


# -- events that need no answer ----------------------------------------------------------------

def _raw(openid: str, at: int, inner: str) -> str:
    """An event as WeChat documents it, with the nested tags message_xml cannot write."""
    return (f"<xml><ToUserName><![CDATA[gh_frontdesk]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>{inner}</xml>")


def _silent_events(openid: str, at: int) -> dict[str, str]:
    return {
        "VIEW": event_xml(openid, "VIEW", EventKey="https://www.gov.cn/", MenuId="412", create_time=at),
        "TEMPLATESENDJOBFINISH": event_xml(openid, "TEMPLATESENDJOBFINISH", MsgID=200163836,
                                           Status="failed:user block", create_time=at),
        "MASSSENDJOBFINISH": event_xml(openid, "MASSSENDJOBFINISH", MsgID=1988, Status="sendsuccess", TotalCount=100,
                                       FilterCount=80, SentCount=75, ErrorCount=5, create_time=at),
        "kf_create_session": event_xml(openid, "kf_create_session", KfAccount="test1@test", create_time=at),
        "kf_close_session": event_xml(openid, "kf_close_session", KfAccount="test1@test", create_time=at),
        "kf_switch_session": event_xml(openid, "kf_switch_session", FromKfAccount="test1@test",
                                       ToKfAccount="test2@test", create_time=at),
        "qualification_verify_success": event_xml(openid, "qualification_verify_success", ExpiredTime=1442401156,
                                                  create_time=at),
        "user_get_card": event_xml(openid, "user_get_card", CardId="pFS7Fjg8kV1IdDz01r4SQwMkuCKc",
                                   IsGiveByFriend=0, UserCardCode="12312312", create_time=at),
        "pic_photo_or_album": _raw(openid, at, "<Event><![CDATA[pic_photo_or_album]]></Event>"
                                   "<EventKey><![CDATA[MENU_PHOTO]]></EventKey><SendPicsInfo><Count>1</Count><PicList>"
                                   "<item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum></item>"
                                   "</PicList></SendPicsInfo>"),
        "a future event": event_xml(openid, "some_event_wechat_adds_later", create_time=at),
    }


async def test_events_that_need_no_answer_get_success_and_leave_no_trace(bot):
    for name, xml in _silent_events("r-quiet", _now(bot)).items():
        resp = await bot.post(xml)
        assert resp.status == 200 and await resp.text() == "success", name
    assert await bot.store.residents.get("r-quiet") is None    # no resident made up from WeChat's notices
    assert await bot.store.outbox.waiting("r-quiet") == []
    assert await bot.store.inquiries.of_resident("r-quiet") == []


async def test_the_pictures_a_menu_button_picks_are_answered_once_when_they_arrive(bot):
    at = _now(bot)
    resp = await bot.post(_silent_events("r1", at)["pic_photo_or_album"])
    assert await resp.text() == "success"
    reply = await bot.send(message_xml("r1", "gh", "image", PicUrl="http://127.0.0.1/a.jpg", MediaId="m",
                                       create_time=at))
    assert "收到您的图片" in reply["Content"]


async def test_events_after_unsubscribing_do_not_bring_the_resident_back(bot):
    await bot.send(event_xml("r1", "subscribe", create_time=_now(bot)))
    bot.clock.advance(hours=1)
    await bot.post(event_xml("r1", "unsubscribe", create_time=_now(bot)))
    left = await bot.store.residents.get("r1")
    bot.clock.advance(hours=1)
    for name, xml in _silent_events("r1", _now(bot)).items():
        assert await (await bot.post(xml)).text() == "success", name
    await bot.post(event_xml("r1", "LOCATION", Latitude=29.9110, Longitude=120.0470, Precision=30.0,
                             create_time=_now(bot)))
    now = await bot.store.residents.get("r1")
    assert now["active"] == 0 and now["unsubscribed_at"] == left["unsubscribed_at"]
    assert now["last_message_at"] == left["last_message_at"]   # WeChat's 48-hour window stays shut


async def test_events_that_need_no_answer_do_not_count_toward_the_rate_limit(start_bot):
    bot = await start_bot(dialog={"max_messages_per_minute": 3})
    await bot.say("r1", "你好")
    for second in range(12):   # an account that asks for the location reports it every 5 seconds
        at = _now(bot) + second
        await bot.post(event_xml("r1", "LOCATION", Latitude=29.9110, Longitude=120.0470, Precision=30.0,
                                 create_time=at))
        await bot.post(event_xml("r1", "VIEW", EventKey="https://www.gov.cn/", create_time=at))
    answer = await bot.say("r1", "老年人优待证怎么办")
    assert "居民身份证" in answer
    assert "您发得有点快" not in await bot.say("r1", "谢谢")
    assert "您发得有点快" in await bot.say("r1", "再见")   # the fourth message a minute is one too many


async def test_voice_with_recognition_switched_off_asks_for_text(bot):
    # the account has not switched recognition on: WeChat sends no Recognition field at all
    reply = await bot.send(message_xml("r1", "gh", "voice", MediaId="media-1", Format="amr", create_time=_now(bot)))
    text = reply["Content"]
    assert "听不了语音" in text and "打字" in text and "没听清" not in text
    reply = await bot.send(message_xml("r1", "gh", "voice", MediaId="media-2", Format="speex", create_time=_now(bot)))
    assert "听不了语音" in reply["Content"]


async def test_voice_recognised_as_nothing_asks_to_say_it_again(bot):
    reply = await bot.send(voice_xml("r1", "   ", create_time=_now(bot)))
    assert "没听清" in reply["Content"] and "听不了语音" not in reply["Content"]
