"""WeChat's customer-service quota (since June 2023): what does not fit goes as a template message.

The fake WeChat API enforces the quota as WeChat does — five customer-service messages within 48
hours of the resident's message, three within a minute of a menu click, follow or scan, 45047 past
it and 45015 after its time — so these tests fail if the pusher does not count it.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import PUSHER
from bot.api import CASE_DESK
from bot.wechat.simulator import event_xml

TEMPLATE = {"notice_template_id": "TPL-gov-progress", "notice_field_number": "character_string1",
            "notice_field_matter": "thing2", "notice_field_status": "phrase3", "notice_field_time": "time4",
            "notice_field_content": "thing5"}


async def _staff(bot, name: str = "clerk-a", center: str = "village-a") -> dict[str, str]:
    await bot.store.staff.add(name=name, center=center, role="clerk", token=f"token-{name}", now=bot.clock.now())
    return {"Authorization": f"Bearer token-{name}"}


async def _move(bot, headers, number: str, to: str, **extra) -> None:
    resp = await bot.client.post(f"/api/cases/{number}/transitions", json={"to": to, **extra}, headers=headers)
    assert resp.status == 200, await resp.text()


async def _delivered(bot, openid: str, count: int, seconds: float = 8.0) -> list[str]:
    for _ in range(int(seconds / 0.02)):
        if len(bot.fake.shown_to(openid)) >= count:
            break
        bot.app[PUSHER].wake()
        await asyncio.sleep(0.02)
    return bot.fake.shown_to(openid)


SEVEN_MOVES = [("accepted", {}), ("need_materials", {"note": "户口簿复印件"}), ("in_progress", {}),
               ("extended", {"note": "需县民政局复核", "deadline": "2026-12-31"}), ("completed", {}),
               ("delivered", {})]


async def test_seven_moves_after_the_residents_last_message_all_reach_them(start_bot):
    """Seven notices of one case: five as customer-service messages, the rest as template messages
    carrying the case number, the matter and its status — none refused by WeChat, none lost."""
    bot = await start_bot(wechat=TEMPLATE)
    headers = await _staff(bot)
    await bot.wrote("r-seven")
    case = await bot.app[CASE_DESK].open(kind="proxy", openid="r-seven", guide="高龄津贴申领", center="village-a",
                                         data={"name": "王秀英", "phone": "13800001234"})
    await _move(bot, headers, case.number, "accepted")
    await _move(bot, headers, case.number, "in_progress", note="材料已送县民政局")
    for to, extra in SEVEN_MOVES[1:]:
        await _move(bot, headers, case.number, to, **extra)
    shown = await _delivered(bot, "r-seven", 7)
    assert len(shown) == 7
    assert len(bot.fake.texts_to("r-seven")) == 5
    completed, delivered = bot.fake.templates_to("r-seven")
    assert completed["character_string1"] == case.number and completed["thing2"] == "高龄津贴申领"
    assert completed["phrase3"] == "已办结" and delivered["phrase3"] == "已送达"
    assert completed["time4"] == "2026年11月24日 10:00"
    assert len(completed["thing5"]) <= 20 and completed["thing5"].startswith("您的高龄津贴申领")
    assert bot.fake.refused == []           # counted here, not found out from WeChat's refusals
    assert await bot.store.outbox.dead() == []


async def test_the_residents_next_message_opens_five_more(start_bot):
    bot = await start_bot(wechat=TEMPLATE)
    await bot.wrote("r-again")
    await bot.store.outbox.add("r-again", [f"第{n}条通知" for n in range(1, 7)], bot.clock.now())
    await _delivered(bot, "r-again", 6)
    assert bot.fake.texts_to("r-again") == [f"第{n}条通知" for n in range(1, 6)]
    bot.clock.advance(hours=3)
    await bot.wrote("r-again")             # writes again: the quota is five again, not one
    await bot.store.outbox.add("r-again", [f"第{n}条通知" for n in range(7, 12)], bot.clock.now())
    await _delivered(bot, "r-again", 11)
    assert bot.fake.texts_to("r-again")[5:] == [f"第{n}条通知" for n in range(7, 12)]
    assert len(bot.fake.templates_to("r-again")) == 1 and bot.fake.refused == []


async def test_a_menu_click_allows_three_within_a_minute(start_bot):
    """The click replaces the message's quota: three customer-service messages, and only within the minute."""
    bot = await start_bot(wechat=TEMPLATE)
    await bot.wrote("r-click")
    bot.clock.advance(minutes=10)
    await bot.send(event_xml("r-click", "CLICK", EventKey="MENU_CENTERS", create_time=int(bot.clock.timestamp())))
    await bot.store.outbox.add("r-click", ["一", "二", "三", "四"], bot.clock.now())
    await _delivered(bot, "r-click", 4)
    assert bot.fake.texts_to("r-click") == ["一", "二", "三"]
    bot.clock.advance(seconds=61)
    await bot.store.outbox.add("r-click", ["五"], bot.clock.now())
    await _delivered(bot, "r-click", 5)
    assert bot.fake.texts_to("r-click") == ["一", "二", "三"] and len(bot.fake.templates_to("r-click")) == 2
    assert bot.fake.refused == []


async def test_45047_switches_to_the_template_at_once(start_bot):
    """WeChat counted what we did not (another system wrote to the resident): its 45047 is not
    retried; the notice and the next go as template messages."""
    bot = await start_bot(wechat=TEMPLATE)
    await bot.wrote("r-full")
    bot.fake.quotas["r-full"].used = 5      # spent elsewhere
    await bot.store.outbox.add("r-full", ["您的办件已受理。", "您的办件正在办理中。"], bot.clock.now())
    await _delivered(bot, "r-full", 2)
    assert [t["thing5"] for t in bot.fake.templates_to("r-full")] == ["您的办件已受理。", "您的办件正在办理中。"]
    first = bot.fake.templates_to("r-full")[0]    # a notice of no case still fills every field
    assert (first["character_string1"], first["thing2"], first["phrase3"]) == ("-", "测试镇便民服务中心消息", "有新消息")
    assert bot.fake.refused == [("r-full", 45047)]   # asked once, then counted as spent
    rows = await bot.store.fetchall("SELECT attempts, sent_at FROM outbox WHERE openid='r-full' ORDER BY id")
    assert [(r["attempts"], bool(r["sent_at"])) for r in rows] == [(1, True), (1, True)]


async def test_without_a_template_a_notice_past_the_quota_waits_for_the_next_message(bot):
    await bot.wrote("r-wait")
    await bot.store.outbox.add("r-wait", [f"第{n}条" for n in range(1, 7)], bot.clock.now())
    await _delivered(bot, "r-wait", 5)
    await asyncio.sleep(0.3)
    assert len(bot.fake.texts_to("r-wait")) == 5 and await bot.store.outbox.dead() == []
    bot.clock.advance(minutes=20)
    await bot.wrote("r-wait")
    bot.clock.advance(minutes=1)              # its next try is due
    assert (await _delivered(bot, "r-wait", 6))[-1] == "第6条"
    assert bot.fake.refused == []


async def test_start_up_warns_when_no_template_is_configured(start_bot, caplog, aiohttp_client):
    from tests.console.support import staff_client
    with caplog.at_level(logging.WARNING):
        bot = await start_bot()
    assert any("notice_template_id" in r.getMessage() for r in caplog.records)
    admin = await staff_client(bot, aiohttp_client, "root", None, role="admin")
    page = await (await admin.get("/console/dashboard")).text()
    assert "模板消息" in page and "notice_template_id" in page
    clerk = await staff_client(bot, aiohttp_client, "clerk-q", "town-center")
    assert "notice_template_id" not in await (await clerk.get("/console/dashboard")).text()


async def test_configured_template_gives_no_warning(start_bot, caplog, aiohttp_client):
    from tests.console.support import staff_client
    with caplog.at_level(logging.WARNING):
        bot = await start_bot(wechat=TEMPLATE)
    assert not any("notice_template_id" in r.getMessage() for r in caplog.records)
    admin = await staff_client(bot, aiohttp_client, "root", None, role="admin")
    assert "notice_template_id" not in await (await admin.get("/console/dashboard")).text()


@pytest.mark.parametrize("field", ["thing 2", "2thing", "keyword-1", "{{thing2.DATA}}"])
async def test_a_bad_template_field_name_stops_start_up_naming_the_key(start_bot, field):
    from bot.errors import ConfigError
    with pytest.raises(ConfigError, match=r"\[wechat\] notice_field_matter"):
        await start_bot(wechat={**TEMPLATE, "notice_field_matter": field})
