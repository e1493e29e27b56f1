"""转人工 that reaches a person, through the callback as WeChat sends it and the staff API: the
resident's messages go to the conversation, the clerk's reach the resident through the fake
WeChat API, closing asks for a rating, and the bot answers again afterwards."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import pytest

from bot.api import HANDOFF_DESK
from bot.clock import TZ
from bot.jobs import HandoffTimeouts
from bot.wechat.simulator import event_xml, message_xml, text_xml, voice_xml

DONGCUN, XICUN = "qinghe-dongcun", "qinghe-xicun"
TEMPLATE = {"notice_template_id": "TPL-reply", "notice_field_matter": "thing1", "notice_field_status": "phrase2",
            "notice_field_content": "thing3"}


async def _backend(request, backend: str) -> dict:
    """start_bot's overrides for the store `backend`: SQLite alone, with Redis, or PostgreSQL."""
    if backend == "redis":
        return {"redis": {"url": request.getfixturevalue("redis_server").url}}
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        return {"store": {"url": server.url_for(await server.new_schema())}}
    return {}


async def _staff(bot, name: str, center: str | None, role: str = "clerk") -> dict[str, str]:
    await bot.store.staff.add(name=name, center=center, role=role, token=f"token-{name}", now=bot.clock.now())
    return {"Authorization": f"Bearer token-{name}"}


async def _quiet(bot, openid: str, xml: str) -> None:
    """A message the bot must not answer: WeChat gets an empty body."""
    assert await bot.send(xml) is None


def _text(bot, openid: str, text: str, msg_id: int) -> str:
    return text_xml(openid, text, create_time=int(bot.clock.timestamp()), msg_id=msg_id)


async def _received(bot, openid: str, words: str, seconds: float = 10.0) -> list[str]:
    """The customer-service texts the resident received that hold `words`, once there is one."""
    for _ in range(int(seconds / 0.02)):
        found = [t for t in bot.fake.texts_to(openid) if words in t]
        if found:
            return found
        await asyncio.sleep(0.02)
    return []


async def _bound(bot, openid: str, village: str = "东村") -> None:
    await bot.say(openid, f"绑定 {village}")
    await bot.say(openid, "1")


async def _asks_for_a_person(bot, openid: str, words: str = "人呢") -> tuple[dict, str]:
    reply = await bot.say(openid, words)
    [handoff] = [h for h in await bot.store.handoffs.listed(None) if h["openid"] == openid]
    return handoff, reply


async def test_a_resident_reaches_a_clerk_who_writes_back_closes_and_is_rated_and_the_bot_answers_again(bot):
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-hao")
    await bot.say("r-hao", "老人摔伤了住院，医保报销要准备什么")
    handoff, opened = await _asks_for_a_person(bot, "r-hao")
    assert "已为您转给清河镇东村便民服务站的工作人员" in opened and "您是下一位" in opened

    first = await bot.say("r-hao", "我妈上周住院了，能报多少")
    assert "已转给工作人员，请稍候" in first                         # once while no clerk has written
    await _quiet(bot, "r-hao", _text(bot, "r-hao", "发票丢了一张怎么办", 9001))
    await _quiet(bot, "r-hao", message_xml("r-hao", "gh", "image", PicUrl="http://127.0.0.1/a.jpg", MediaId="img-77",
                                           msg_id=9002, create_time=int(bot.clock.timestamp())))
    await _quiet(bot, "r-hao", voice_xml("r-hao", "出院小结也要吗", msg_id=9003, create_time=int(bot.clock.timestamp())))

    listed = await (await bot.client.get("/api/handoffs?status=waiting", headers=clerk)).json()
    assert [(h["id"], h["openid"], h["center"], h["status"], h["question"]) for h in listed["handoffs"]] == [
        (handoff["id"], "r-hao", DONGCUN, "waiting", "人呢")]
    shown = await (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=clerk)).json()
    said = [(m["from"], m["text"]) for m in shown["messages"]]
    asked = said.index(("resident", "老人摔伤了住院，医保报销要准备什么"))   # what came before 转人工
    assert said[asked + 1] == ("bot", "机器人按《医疗费用零星报销》作了答复")
    assert ("resident", "人呢") in said and ("resident", "发票丢了一张怎么办") in said
    assert ("resident", "[图片]") in said and ("resident", "[语音] 出院小结也要吗") in said
    media = [m["media_id"] for m in await bot.store.handoffs.messages(handoff["id"]) if m["media_id"]]
    assert media == ["img-77", "media-1"]

    written = await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk,
                                    json={"text": "您好，发票丢了可以到医院财务科开具证明，出院小结也要带上。"})
    assert written.status == 201 and (await written.json())["status"] == "open"
    [pushed] = await _received(bot, "r-hao", "到医院财务科开具证明")
    assert "清河镇东村便民服务站工作人员" in pushed

    await _quiet(bot, "r-hao", _text(bot, "r-hao", "好的，那我明天上午过去", 9004))   # no 请稍候 once a clerk wrote
    shown = await (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=clerk)).json()
    assert shown["messages"][-1]["from"] == "resident" and shown["messages"][-1]["text"] == "好的，那我明天上午过去"

    closed = await bot.client.post(f"/api/handoffs/{handoff['id']}/close", headers=clerk)
    assert closed.status == 200 and (await closed.json())["status"] == "closed"
    [asked] = await _received(bot, "r-hao", "请为这次人工服务打个分")
    assert "5 非常满意" in asked
    rated = await bot.say("r-hao", "5")
    assert "已记下您对这次人工服务的评价：非常满意" in rated
    assert (await bot.store.handoffs.get(handoff["id"]))["rating"] == 5

    again = await bot.say("r-hao", "低保怎么申请")   # the bot answers again
    assert "请稍候" not in again and "最低生活保障" in again
    assert len((await (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=clerk)).json())["messages"]) \
        == len(shown["messages"]) + 2   # the clerk's close and the rating noted, nothing after


async def test_a_flood_in_a_conversation_is_slowed_as_with_the_bot_and_the_clerk_sees_only_the_minutes_share(
        start_bot):
    bot = await start_bot(dialog={"max_messages_per_minute": 6})
    await _bound(bot, "r-flood")
    handoff, _ = await _asks_for_a_person(bot, "r-flood")   # three messages this minute
    assert "已转给工作人员" in await bot.say("r-flood", "在吗")
    for n in (1, 2):
        await _quiet(bot, "r-flood", _text(bot, "r-flood", f"快点 {n}", 9100 + n))
    assert "您发得有点快" in await bot.say("r-flood", "快点 3")   # the seventh this minute
    bot.clock.advance(minutes=1)
    await _quiet(bot, "r-flood", _text(bot, "r-flood", "好的，我等着", 9104))
    said = [m["text"] for m in await bot.store.handoffs.messages(handoff["id"]) if m["sender"] == "resident"]
    assert said[-4:] == ["在吗", "快点 1", "快点 2", "好的，我等着"]


async def test_another_villages_clerk_gets_403_and_a_supervisor_only_reads(bot):
    await _bound(bot, "r-li")
    handoff, _ = await _asks_for_a_person(bot, "r-li", "叫个人来")
    other = await _staff(bot, "xicun", XICUN)
    assert (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=other)).status == 403
    refused = await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=other, json={"text": "您好"})
    assert refused.status == 403 and (await refused.json())["error"] == "forbidden"
    assert (await (await bot.client.get("/api/handoffs", headers=other)).json()) == {"handoffs": []}
    bogus = await bot.client.get("/api/handoffs?status=answered", headers=other)
    assert bogus.status == 400 and (await bogus.json())["error"] == "bad_request"
    lead = await _staff(bot, "lead", "town-center", "supervisor")
    assert (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=lead)).status == 200
    assert (await bot.client.post(f"/api/handoffs/{handoff['id']}/close", headers=lead)).status == 403
    assert (await bot.client.get("/api/handoffs/999999", headers=lead)).status == 404
    assert (await bot.client.get("/api/handoffs", headers={"Authorization": "Bearer nope"})).status == 401
    bad = await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=await _staff(bot, "d", DONGCUN),
                                json={"text": "   "})
    assert bad.status == 400 and not bot.fake.texts_to("r-li")[1:]   # nothing sent but the bind replies' pushes


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgresql"])
async def test_two_clerks_taking_the_same_waiting_conversation_one_is_told_409(start_bot, request, backend):
    bot = await start_bot(**await _backend(request, backend))
    await _bound(bot, "r-two")
    handoff, _ = await _asks_for_a_person(bot, "r-two", "找工作人员")
    one, two = await _staff(bot, "dongcun-1", DONGCUN), await _staff(bot, "town-1", "town-center")
    answers = await asyncio.gather(*(bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=h,
                                                     json={"text": f"您好，我是{n}"}) for n, h in (("一号", one),
                                                                                              ("二号", two))))
    assert sorted(a.status for a in answers) == [201, 409]
    lost = next(a for a in answers if a.status == 409)
    assert (await lost.json())["error"] == "taken"
    staff_lines = [m for m in await bot.store.handoffs.messages(handoff["id"]) if m["sender"] == "staff"]
    assert len(staff_lines) == 1


async def test_the_resident_ends_it_with_结束_and_a_bad_rating_opens_a_差评整改_followup(bot):
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-end")
    handoff, _ = await _asks_for_a_person(bot, "r-end", "转人工")
    await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": "您好，请讲"})
    ended = await bot.say("r-end", "结束")
    assert "对话已结束" in ended and "打个分" in ended
    rated = await bot.say("r-end", "太慢了，等了半天")
    assert "不满意" in rated and "回访编号" in rated
    [followup] = await bot.store.cases.list(centers=None, openid="r-end", kind="followup")
    assert followup.center == DONGCUN and followup.data["handoff"] == handoff["id"]
    assert (await bot.store.handoffs.get(handoff["id"]))["rating"] == 2


async def test_after_the_rating_question_another_question_is_answered_and_not_taken_for_a_rating(bot):
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-skip")
    handoff, _ = await _asks_for_a_person(bot, "r-skip")
    await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": "您好，请讲"})
    assert "打个分" in await bot.say("r-skip", "取消")
    answer = await bot.say("r-skip", "低保怎么申请")
    assert "最低生活保障" in answer
    assert "已记下" not in await bot.say("r-skip", "5")   # asked once; not read as a rating later


async def test_a_clerks_message_past_the_quota_waits_for_the_residents_next_message(bot):
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-q")
    handoff, _ = await _asks_for_a_person(bot, "r-q")
    before = len(bot.fake.texts_to("r-q"))
    for n in range(1, 7):
        resp = await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": f"第{n}条"})
        assert resp.status == 201
    assert await _received(bot, "r-q", "第5条")
    await asyncio.sleep(0.6)   # a pusher round or more
    assert not [t for t in bot.fake.texts_to("r-q") if "第6条" in t]
    assert len(bot.fake.texts_to("r-q")) == before + 5
    assert await bot.app[HANDOFF_DESK].quota_left("r-q") == 0
    await _quiet(bot, "r-q", _text(bot, "r-q", "收到", 9101))
    assert await _received(bot, "r-q", "第6条")


async def test_a_long_wait_in_office_hours_is_told_once_and_the_conversation_stays(bot):
    timeouts = HandoffTimeouts(bot.app[HANDOFF_DESK])
    await _bound(bot, "r-wait")
    bot.clock.at = datetime(2026, 11, 24, 11, 25, tzinfo=TZ)   # the station closes at 11:30 for lunch
    handoff, _ = await _asks_for_a_person(bot, "r-wait")
    bot.clock.at = datetime(2026, 11, 24, 14, 4, tzinfo=TZ)    # 5 + 4 minutes open since
    assert await timeouts.run() == (0, 0)
    bot.clock.at = datetime(2026, 11, 24, 14, 6, tzinfo=TZ)    # 11 minutes in office hours
    assert await timeouts.run() == (1, 0)
    assert await _received(bot, "r-wait", "工作人员暂时都在忙")
    assert await timeouts.run() == (0, 0)                      # once
    kept = await bot.store.handoffs.get(handoff["id"])
    assert kept["status"] == "waiting" and kept["wait_over_at"]
    lines = await bot.store.handoffs.messages(handoff["id"])
    assert lines[-1]["sender"] == "bot" and "等候超过 10 分钟" in lines[-1]["text"]


async def test_an_open_conversation_nobody_writes_in_is_closed_with_a_note_to_both(bot):
    clerk = await _staff(bot, "dongcun", DONGCUN)
    timeouts = HandoffTimeouts(bot.app[HANDOFF_DESK])
    await _bound(bot, "r-idle")
    handoff, _ = await _asks_for_a_person(bot, "r-idle")
    await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": "您好，请讲"})
    bot.clock.advance(minutes=29)
    assert await timeouts.run() == (0, 0)
    bot.clock.advance(minutes=2)
    assert await timeouts.run() == (0, 1)
    assert await _received(bot, "r-idle", "先为您结束了")
    closed = await bot.store.handoffs.get(handoff["id"])
    assert closed["status"] == "closed" and closed["close_reason"] == "idle"
    assert "对话已自动结束" in (await bot.store.handoffs.messages(handoff["id"]))[-1]["text"]
    assert "最低生活保障" in await bot.say("r-idle", "低保怎么申请")


async def test_outside_office_hours_the_resident_is_told_when_and_their_messages_wait_for_the_clerk(start_bot):
    bot = await start_bot(wechat=TEMPLATE)
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-night")
    bot.clock.at = datetime(2026, 9, 30, 20, 0, tzinfo=TZ)   # the evening before National Day's week off
    handoff, opened = await _asks_for_a_person(bot, "r-night", "有人吗")
    assert "下班时间" in opened and "10月08日" in opened
    assert "请稍候" in await bot.say("r-night", "我想问下房屋翻建要办什么手续")
    bot.clock.at = datetime(2026, 10, 8, 9, 0, tzinfo=TZ)
    resp = await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk,
                                 json={"text": "您好，房屋翻建请先到村里申请农村宅基地审批。"})
    assert resp.status == 201   # a week later, outside WeChat's 48 hours: a template message says a reply waits
    for _ in range(500):
        if bot.fake.templates_to("r-night"):
            break
        await asyncio.sleep(0.02)
    [template] = bot.fake.templates_to("r-night")
    assert template["thing1"] == "工作人员回复了您的咨询" and template["phrase2"] == "有新回复"
    assert template["thing3"].startswith("您好，房屋翻建")


async def test_a_transferred_conversation_waits_at_the_other_center(bot):
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-t")
    handoff, _ = await _asks_for_a_person(bot, "r-t")
    await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": "我帮您转给镇里"})
    nowhere = await bot.client.post(f"/api/handoffs/{handoff['id']}/transfer", headers=clerk, json={"center": "nowhere"})
    assert nowhere.status == 400 and (await bot.store.handoffs.get(handoff["id"]))["center"] == DONGCUN
    moved = await bot.client.post(f"/api/handoffs/{handoff['id']}/transfer", headers=clerk,
                                  json={"center": "town-center"})
    assert moved.status == 200 and (await moved.json())["center"] == "town-center"
    assert (await moved.json())["status"] == "waiting"
    assert (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=clerk)).status == 403   # not theirs now
    town = await _staff(bot, "town", "town-center")
    assert (await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=town,
                                  json={"text": "您好，我是镇中心"})).status == 201


async def test_the_reports_count_conversations_first_replies_timed_out_waits_and_ratings(bot, aiohttp_client):
    from tests.console.support import staff_client

    clerk = await _staff(bot, "dongcun", DONGCUN)
    timeouts = HandoffTimeouts(bot.app[HANDOFF_DESK])
    for n, (openid, reply_after, score) in enumerate([("r-a", 2, "5"), ("r-b", 4, "太差了"), ("r-c", 30, "")]):
        bot.clock.at = datetime(2026, 11, 24, 9, n, tzinfo=TZ)
        await _bound(bot, openid)
        handoff, _ = await _asks_for_a_person(bot, openid)
        bot.clock.advance(minutes=reply_after)
        if reply_after > 10:
            assert await timeouts.run() == (1, 0)
        await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": "您好"})
        if score:
            await bot.client.post(f"/api/handoffs/{handoff['id']}/close", headers=clerk)
            await bot.say(openid, score)
    bot.clock.at = datetime(2026, 11, 24, 12, 0, tzinfo=TZ)
    report = await bot.store.reports.consultations(datetime(2026, 11, 24).date(), bot.clock.now().date(), [DONGCUN])
    [row] = report.centers
    assert (row.conversations, row.replied, row.median_minutes, row.p90_minutes) == (3, 3, 4, 30)
    assert (row.timed_out, row.rated, row.satisfied) == (1, 2, 1) and report.daily[DONGCUN][-1] == 3
    lead = await staff_client(bot, aiohttp_client, "lead", "town-center", "supervisor")
    page = await (await lead.get("/console/reports?days=7")).text()
    assert "<td>咨询（转人工）</td><td>1</td><td>2</td><td>50%</td>" in page
    assert "<td>3</td><td>3</td><td>4 分钟</td><td>30 分钟</td>" in page


@pytest.mark.parametrize("words", ["找工作人员", "有人吗", "人呢", "叫个人来", "转人工", "人都去哪了", "怎么没人回我"])
async def test_everyday_wordings_reach_a_person(bot, words):
    reply = await bot.say("r-words", words)
    assert "已为您转给" in reply and [h["openid"] for h in await bot.store.handoffs.waiting()] == ["r-words"]


async def test_giving_up_before_any_clerk_wrote_ends_it_without_a_rating_question(bot):
    await _bound(bot, "r-gone")
    handoff, _ = await _asks_for_a_person(bot, "r-gone")
    ended = await bot.say("r-gone", "不用了")
    assert "对话已结束" in ended and "打个分" not in ended
    assert (await bot.store.handoffs.get(handoff["id"]))["status"] == "closed"
    assert "已记下" not in await bot.say("r-gone", "5")


async def test_the_menus_button_reaches_a_person_and_a_second_click_keeps_the_conversation(bot):
    at = int(bot.clock.timestamp())
    first = await bot.send(event_xml("r-menu", "CLICK", EventKey="MENU_HANDOFF", create_time=at))
    assert "已为您转给" in first["Content"]
    again = await bot.send(event_xml("r-menu", "CLICK", EventKey="MENU_HANDOFF", create_time=at + 5))
    assert "您已经在和工作人员对话了" in again["Content"] and len(await bot.store.handoffs.waiting()) == 1


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgresql"])
async def test_a_message_whose_worker_died_before_storing_it_still_reaches_the_conversation(start_bot, request,
                                                                                          backend):
    from bot.app import DESK
    from bot.messages import Text, to_json

    bot = await start_bot(**await _backend(request, backend))
    clerk = await _staff(bot, "dongcun", DONGCUN)
    await _bound(bot, "r-died")
    handoff, _ = await _asks_for_a_person(bot, "r-died")
    await bot.client.post(f"/api/handoffs/{handoff['id']}/messages", headers=clerk, json={"text": "您好，请讲"})
    said = Text(openid="r-died", account="gh_frontdesk", create_time=int(bot.clock.timestamp()), msg_id=880001,
                content="我下午三点到站里")
    # a worker claimed the message, kept it (encrypted) with its claim, and died before storing it
    await bot.store.messages.claim(said.dedup_key, said.openid, bot.clock.now(), bot.store.vault.seal(to_json(said)))
    bot.clock.advance(seconds=12)
    assert await bot.app[DESK].finish_unanswered() == 1
    lines = await bot.store.handoffs.messages(handoff["id"])
    assert (lines[-1]["sender"], lines[-1]["text"]) == ("resident", "我下午三点到站里")
    bot.clock.advance(seconds=12)
    assert await bot.app[DESK].finish_unanswered() == 0   # once
    assert [m["text"] for m in await bot.store.handoffs.messages(handoff["id"])].count("我下午三点到站里") == 1


async def test_what_the_bot_did_before_is_told_to_the_clerk_in_words_never_as_a_code(bot):
    await _bound(bot, "r-before")                    # 绑定 东村
    await bot.say("r-before", "我的预约")
    handoff, _ = await _asks_for_a_person(bot, "r-before")
    clerk = await _staff(bot, "dongcun", "qinghe-dongcun")
    shown = await (await bot.client.get(f"/api/handoffs/{handoff['id']}", headers=clerk)).json()
    told = [m["text"] for m in shown["messages"] if m["from"] == "bot"]
    assert "机器人按“绑定服务站”办理" in told and "机器人按“查预约”办理" in told
    assert not any(re.search(r"[a-z_]{3,}", line) for line in told), told
