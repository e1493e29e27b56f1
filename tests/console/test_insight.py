"""Unanswered questions, guides and reports in the console, over HTTP: what residents asked in
vain grouped with counts, a guide shown as the bot says it, charts drawn on the server for
supervisors only, and nothing fetched from elsewhere."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

from markupsafe import escape

from bot.api import CASE_DESK
from bot.cases.machine import Move
from tests.console.support import staff_client

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
IN_VAIN = {"r-1": "给我推荐几只能涨的股票", "r-2": "推荐几只能涨的股票吧", "r-3": "给我推荐几只能涨的股票？",
           "r-4": "讲个笑话听听", "r-5": "讲个笑话吧", "r-6": "明天镇上会下雨吗"}


def _row(html: str, text: str) -> str:
    """The table row of a page that holds `text`."""
    found = re.search(r"<tr>(?:(?!</tr>).)*?" + re.escape(text) + r".*?</tr>", html, re.S)
    assert found, f"no row with {text}"
    return found.group(0)


def _outside_links(html: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>]+", html)) - {SVG_NAMESPACE}


async def _ask_in_vain(bot) -> None:
    for openid, question in IN_VAIN.items():
        await bot.say(openid, question)
    logged = await bot.store.inquiries.recent(limit=len(IN_VAIN))
    assert {(i["question"], i["decision"]) for i in logged} == {(q, "fallback") for q in IN_VAIN.values()}


async def test_questions_asked_in_vain_are_grouped_with_counts_and_the_closest_guide(bot, aiohttp_client):
    await _ask_in_vain(bot)
    await bot.say("r-7", "老年人优待证怎么办")   # answered: not a gap
    clerk = await staff_client(bot, aiohttp_client, "qinghe", "town-center")   # not bound: the default center
    resp = await clerk.get("/console/unanswered")
    html = await resp.text()
    assert resp.status == 200
    stocks, jokes = _row(html, "给我推荐几只能涨的股票"), _row(html, "讲个笑话听听")
    assert html.index(stocks) < html.index(jokes) < html.index(_row(html, "明天镇上会下雨吗"))
    assert stocks.startswith("<tr><td>3</td>") and "推荐几只能涨的股票吧" in stocks
    assert jokes.startswith("<tr><td>2</td>") and "讲个笑话吧" in jokes
    # nothing of ours is near: the matcher's best guess, at well under a 5 % chance, is not shown as close
    assert bot.app[CASE_DESK].library.matcher.match("给我推荐几只能涨的股票").best.score < 0.05
    assert "知识库里没有相近的事项" in stocks and "知识库里没有相近的事项" in _row(html, "明天镇上会下雨吗")
    gaps = html[html.index('<table id="gaps">'):html.index("</table>")]
    assert "老年人优待证" not in gaps and not _outside_links(html)


async def test_only_the_days_asked_for_are_counted(bot, aiohttp_client):
    await _ask_in_vain(bot)
    bot.clock.advance(days=3)
    clerk = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    for days in ("2", "-5"):   # -5: one day at least
        assert "还没有数据" in await (await clerk.get(f"/console/unanswered?days={days}")).text()
    for days in ("7", "abc", "100000"):   # abc: 30 days; 100000: a year at most
        resp = await clerk.get(f"/console/unanswered?days={days}")
        assert resp.status == 200 and "给我推荐几只能涨的股票" in await resp.text()


async def test_a_clerk_sees_the_questions_of_their_own_centers_with_numbers_masked(bot, aiohttp_client):
    await bot.say("r-dongcun", "绑定 东村")
    await bot.say("r-dongcun", "我电话138 0000 1234，明天镇上会下雨吗")
    await bot.store.residents.bind("r-shiqiao", "shiqiao-hexi", bot.clock.now())
    await bot.say("r-shiqiao", "讲个笑话听听 我的号是110105 19491231 002X")
    await bot.say("r-nowhere", "推荐几只股票 +86 139-0000-5678")   # not bound: the default center, 清河镇
    pages = {}
    for name, center, role in [("dongcun", "qinghe-dongcun", "clerk"), ("qinghe", "town-center", "clerk"),
                               ("hexi", "shiqiao-hexi", "clerk"), ("county", "county", "supervisor")]:
        member = await staff_client(bot, aiohttp_client, name, center, role)
        pages[name] = await (await member.get("/console/unanswered")).text()
    weather, joke, stocks = "明天镇上会下雨吗", "讲个笑话听听", "推荐几只股票"
    assert weather in pages["dongcun"] and joke not in pages["dongcun"] and stocks not in pages["dongcun"]
    assert weather in pages["qinghe"] and stocks in pages["qinghe"] and joke not in pages["qinghe"]
    assert joke in pages["hexi"] and weather not in pages["hexi"] and stocks not in pages["hexi"]
    assert all(q in pages["county"] for q in (weather, joke, stocks))
    shown = "".join(pages.values())
    assert "138****1234" in shown and "110105********002X" in shown and "+86 139****5678" in shown
    for number in ("0000 1234", "19491231", "0000-5678"):
        assert number not in shown
    stored = str(await bot.store.fetchall("SELECT question, contact FROM inquiries"))
    for number in ("13800001234", "0000 1234", "19491231", "13900005678", "0000-5678"):
        assert number not in stored   # the numbers are kept apart, encrypted


async def test_a_guide_page_shows_what_the_bot_replies(bot, aiohttp_client):
    reply = await bot.say("resident-1", "老年人优待证办理")
    assert reply.startswith("【老年人优待证办理】")
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    resp = await clerk.get("/console/guides/" + quote("老年人优待证办理"))
    html = await resp.text()
    assert resp.status == 200 and str(escape(reply)) in html and not _outside_links(html)
    listed = await (await clerk.get("/console/guides?q=老年证")).text()   # an alias
    assert "老年人优待证办理" in listed and "高龄津贴申领" not in listed
    everything = await (await clerk.get("/console/guides")).text()
    assert "高龄津贴申领" in everything and "民政" in everything and not _outside_links(everything)
    assert "没有找到" in await (await clerk.get("/console/guides?q=宇宙飞船")).text()
    assert (await clerk.get("/console/guides/" + quote("宇宙飞船驾照"))).status == 404


async def test_a_guide_page_tells_time_limits_in_their_unit(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    html = await (await clerk.get("/console/guides/" + quote("居住证申领"))).text()
    assert "承诺 15日" in html and "法定 15日" in html and "15 个工作日" not in html and "15个工作日" not in html
    listed = await (await clerk.get("/console/guides?q=居住证")).text()
    assert "15日" in listed


async def _cases_and_ratings(bot) -> None:
    """Seven 高龄津贴 cases in 清河东村, one finished on time and one late, rated 5 and 2; one
    home visit in 石桥; a booking in the town center."""
    desk, store = bot.app[CASE_DESK], bot.store
    opened = [await desk.open(kind="proxy", openid=f"elder-{n}", guide="高龄津贴申领", center="qinghe-dongcun",
                              data={}) for n in range(7)]
    await desk.open(kind="home_visit", openid="far-away", guide="残疾人证办理", center="shiqiao-hexi", data={})
    await store.bookings.book(openid="elder-0", guide="高龄津贴申领", center="town-center",
                              start=bot.clock.now() + timedelta(days=1), windows=(1,), now=bot.clock.now(),
                              remind_at=None, max_active=3)
    for case in opened[:2]:
        await desk.move(case.number, Move(to="accepted"), actor="staff:t")   # 15 working days
    await desk.move(opened[0].number, Move(to="completed"), actor="staff:t")
    bot.clock.advance(days=30)
    await desk.move(opened[1].number, Move(to="completed"), actor="staff:t")
    for case, score in ((opened[0], 5), (opened[1], 2)):
        await store.ratings.add(await store.cases.get(case.number), score, "", bot.clock.now())


async def test_reports_draw_charts_with_their_numbers_for_a_supervisor(bot, aiohttp_client):
    await _cases_and_ratings(bot)
    supervisor = await staff_client(bot, aiohttp_client, "qinghe-lead", "town-center", "supervisor")
    resp = await supervisor.get("/console/reports?days=60")
    html = await resp.text()
    assert resp.status == 200 and html.count("<svg") == 4 and "<script" not in html
    assert re.search(r"高龄津贴申领</a></td>\s*<td>7</td><td>1</td><td>8</td>", html)
    assert "残疾人证办理" not in html   # 石桥 is not theirs
    on_time = html[html.index('id="on-time"'):html.index('id="satisfaction"')]
    assert re.search(r"<td>1</td><td>1</td>\s*<td>100%</td>", on_time)   # finished on the day
    assert re.search(r"<td>0</td><td>1</td>\s*<td>0%</td>", on_time)     # a month later: late
    satisfaction = html[html.index('id="satisfaction"'):html.index('id="busiest"')]
    assert re.search(r"<td>1</td><td>2</td>\s*<td>50%</td>", satisfaction)
    assert not _outside_links(html)


async def test_reports_are_for_supervisors_and_say_when_there_is_nothing(bot, aiohttp_client):
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    resp = await clerk.get("/console/reports")
    assert resp.status == 403 and "没有权限" in await resp.text()
    admin = await staff_client(bot, aiohttp_client, "admin", None, "admin")
    resp = await admin.get("/console/reports")
    html = await resp.text()
    assert resp.status == 200 and "<svg" not in html and html.count("还没有数据") == 5   # 转人工咨询 too


async def test_a_guide_with_situations_shows_the_choice_residents_get_and_each_situation_whole(bot, aiohttp_client):
    reply = await bot.say("resident-1", "婚姻登记怎么办")
    assert "2. 离婚登记" in reply
    clerk = await staff_client(bot, aiohttp_client, "dongcun", "qinghe-dongcun")
    html = await (await clerk.get("/console/guides/" + quote("婚姻登记"))).text()
    assert str(escape(reply)) in html and "<h2>情形</h2>" in html
    divorce = html.split('id="situation-2"')[1].split("</div>")[0]
    assert "离婚登记" in divorce and "到现场 2 次" in divorce and "离婚协议书" in divorce and "签字声明" not in divorce
