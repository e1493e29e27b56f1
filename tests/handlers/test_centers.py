"""Where a resident is: locations sent and reported, QR codes of the stations, the nearest
centers and binding by number — through the real callback, as WeChat sends each."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import TZ
from bot.wechat.simulator import event_xml, message_xml

DONGCUN = dict(Location_X=29.9110, Location_Y=120.0470, Scale=15, Label="东村文化礼堂")
BEIJING = dict(Location_X=39.9042, Location_Y=116.4074, Scale=15, Label="天安门广场")


def _now(bot) -> int:
    return int(bot.clock.timestamp())


def _event(openid: str, at: int, inner: str) -> str:
    """An event as WeChat documents it, with the nested tags message_xml cannot write."""
    return (f"<xml><ToUserName><![CDATA[gh_frontdesk]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>{inner}</xml>")


async def _location(bot, openid: str, where: dict) -> str:
    reply = await bot.send(message_xml(openid, "gh_frontdesk", "location", create_time=_now(bot), **where))
    return reply["Content"]


async def _pushed(bot, openid: str) -> int:
    row = await bot.store.fetchone("SELECT count(*) AS n FROM outbox WHERE openid=?", openid)
    return row["n"]


# -- the location WeChat reports by itself ------------------------------------------------------

async def test_a_reported_location_is_kept_silently_and_a_dialog_goes_on(bot):
    assert "1. 清河镇便民服务中心" in await bot.say("r1", "我想预约办社保卡")
    resp = await bot.post(event_xml("r1", "LOCATION", Latitude=29.9110, Longitude=120.0470, Precision=65.0,
                                    create_time=_now(bot)))
    assert resp.status == 200 and await resp.text() == "success"
    kept = await bot.store.residents.get("r1")
    assert (kept["latitude"], kept["longitude"]) == (29.911, 120.047) and kept["located_at"]
    assert await _pushed(bot, "r1") == 0
    assert "余" in await bot.say("r1", "1")          # the booking's next step, as if nothing came between


async def test_a_reported_location_of_nowhere_is_not_kept(bot):
    await bot.say("r1", "你好")
    resp = await bot.post(event_xml("r1", "LOCATION", Latitude="abc", Longitude=999, Precision=0,
                                    create_time=_now(bot)))
    assert await resp.text() == "success"
    assert (await bot.store.residents.get("r1"))["latitude"] is None


# -- a location the resident sends ----------------------------------------------------------------

async def test_after_a_location_anything_but_a_number_is_answered_as_usual(bot):
    assert "回复序号" in await _location(bot, "r1", DONGCUN)
    answer = await bot.say("r1", "老年人优待证怎么办")
    assert "居民身份证" in answer and "序号" not in answer
    assert await bot.store.residents.center_of("r1") is None
    await bot.say("r1", "3")                          # the offer has lapsed: 3 is no pick now
    assert await bot.store.residents.center_of("r1") is None


async def test_after_a_location_a_handoff_or_a_new_request_is_not_held_up(bot):
    await _location(bot, "r1", DONGCUN)
    assert "已为您转给" in await bot.say("r1", "转人工")
    await _location(bot, "r2", DONGCUN)
    asked = await bot.say("r2", "绑定")
    assert "您是哪个村" in asked and "没有对上" not in asked


async def test_after_a_location_a_number_binds_the_station_it_names(bot):
    text = await _location(bot, "r1", DONGCUN)
    assert "2. 清河镇北湾村便民服务站" in text
    assert "已绑定到清河镇北湾村便民服务站" in await bot.say("r1", "第二个")
    assert await bot.store.residents.center_of("r1") == "qinghe-beiwan"


async def test_a_location_picked_from_the_menu_is_answered_like_a_sent_one(bot):
    xml = _event("r1", _now(bot), "<Event><![CDATA[location_select]]></Event><EventKey><![CDATA[MENU_WHERE]]></EventKey>"
                 "<SendLocationInfo><Location_X><![CDATA[29.9110]]></Location_X><Location_Y><![CDATA[120.0470]]>"
                 "</Location_Y><Scale><![CDATA[15]]></Scale><Label><![CDATA[清河镇东村]]></Label>"
                 "<Poiname><![CDATA[东村文化礼堂]]></Poiname></SendLocationInfo>")
    text = (await bot.send(xml))["Content"]
    assert "东村文化礼堂" in text and "【清河镇东村便民服务站】（约0.1公里）" in text and "1. 清河镇东村便民服务站" in text
    assert "已绑定到清河镇东村便民服务站" in await bot.say("r1", "1")


async def test_a_location_far_from_the_county_says_so_and_offers_binding_by_name(bot):
    text = await _location(bot, "r1", BEIJING)
    assert "比较远" in text and "绑定 东村" in text and "公里" in text
    assert "【" not in text and "回复序号" not in text
    assert "已为您登记" not in await bot.say("r1", "1") and await bot.store.residents.center_of("r1") is None


async def test_a_location_without_coordinates_is_told_so(bot):
    text = await _location(bot, "r1", dict(Location_X="", Location_Y="", Scale=15, Label=""))
    assert "没能" in text and "绑定 东村" in text


@pytest.mark.parametrize("at", [datetime(2026, 11, 24, 10, 0, tzinfo=TZ),     # a working morning
                                datetime(2026, 11, 29, 13, 0, tzinfo=TZ),     # Sunday afternoon: closed, next opening told
                                datetime(2026, 10, 1, 10, 0, tzinfo=TZ)],     # National Day
                         ids=["open", "sunday", "holiday"])
async def test_the_numbered_stations_come_whole_in_one_message(bot, at):
    bot.clock.at = at
    text = await _location(bot, "r1", DONGCUN)
    assert "回复序号" in text and "不需要的话" in text
    for n, name in enumerate(["东村", "北湾村", "南街社区", "张庄村"], start=1):
        assert f"{n}. " in text and name in text.split(f"{n}. ")[1].split("\n")[0]
    assert await _pushed(bot, "r1") == 0
    assert "【清河镇东村便民服务站】" in text


# -- QR codes ------------------------------------------------------------------------------------

async def test_scanning_a_stations_code_binds_the_follower_and_tells_its_hours(bot):
    await bot.say("r1", "你好")
    reply = await bot.send(event_xml("r1", "SCAN", EventKey="qinghe-dongcun", Ticket="gQH47joAAAAAAAAAASxodHRw",
                                     create_time=_now(bot)))
    text = reply["Content"]
    assert "清河镇东村便民服务站" in text and "08:30-11:30" in text and "清河镇便民服务中心" in text
    assert await bot.store.residents.center_of("r1") == "qinghe-dongcun"


async def test_following_by_a_stations_code_welcomes_and_binds_at_once(bot):
    reply = await bot.send(event_xml("r1", "subscribe", EventKey="qrscene_qinghe-beiwan",
                                     Ticket="gQH47joAAAAAAAAAASxodHRw", create_time=_now(bot)))
    text = reply["Content"]
    assert "欢迎关注" in text and "清河镇北湾村便民服务站" in text and "08:30-11:30" in text
    assert await bot.store.residents.center_of("r1") == "qinghe-beiwan"
    assert (await bot.store.residents.get("r1"))["active"] == 1


async def test_a_town_centers_code_tells_its_hours_without_binding(bot):
    text = (await bot.send(event_xml("r1", "SCAN", EventKey="town-center", Ticket="t", create_time=_now(bot))))["Content"]
    assert "清河镇便民服务中心" in text and "08:30-12:00" in text and "绑定 村（社区）名" in text
    assert await bot.store.residents.center_of("r1") is None
    await bot.send(event_xml("r2", "SCAN", EventKey="qinghe-dongcun", Ticket="t", create_time=_now(bot)))
    text = (await bot.send(event_xml("r2", "SCAN", EventKey="town-center", Ticket="t", create_time=_now(bot) + 1)))["Content"]
    assert "08:30-12:00" in text and "绑定" not in text    # a villager visiting the town keeps their station
    assert await bot.store.residents.center_of("r2") == "qinghe-dongcun"


async def test_a_code_of_no_center_binds_nothing(bot):
    scan = await bot.send(event_xml("r1", "SCAN", EventKey="123456", Ticket="t", create_time=_now(bot)))
    assert "想办什么事" in scan["Content"]
    follow = await bot.send(event_xml("r2", "subscribe", EventKey="qrscene_poster-2025", Ticket="t",
                                      create_time=_now(bot)))
    assert "欢迎关注" in follow["Content"] and "预约" in follow["Content"]
    assert await bot.store.residents.center_of("r1") is None and await bot.store.residents.center_of("r2") is None


@pytest.mark.parametrize("key", ["scanbarcode|keystandard|6901234567892", "scanimage|keystandard|keystr"])
async def test_following_from_a_product_scan_still_gets_the_welcome(bot, key):
    reply = await bot.send(event_xml("r1", "subscribe", EventKey=key, create_time=_now(bot)))
    assert "欢迎关注" in reply["Content"] and "转人工" in reply["Content"]


def _scan_waitmsg(openid: str, at: int, result: str) -> str:
    return _event(openid, at, "<Event><![CDATA[scancode_waitmsg]]></Event><EventKey><![CDATA[MENU_SCAN]]></EventKey>"
                  f"<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[{result}]]></ScanResult>"
                  "</ScanCodeInfo>")


async def test_the_menus_scan_button_is_answered(bot):
    bound = await bot.send(_scan_waitmsg("r1", _now(bot), "qinghe-dongcun"))
    assert "清河镇东村便民服务站" in bound["Content"] and "08:30-11:30" in bound["Content"]
    assert await bot.store.residents.center_of("r1") == "qinghe-dongcun"
    other = await bot.send(_scan_waitmsg("r2", _now(bot), "https://example.com/shop?id=7"))
    assert "不是本县便民服务中心" in other["Content"] and "绑定 东村" in other["Content"]
    assert await bot.store.residents.center_of("r2") is None
