"""转人工 in the console, over HTTP as a browser without script sees it: the list with its count
in the navigation, the conversation page and its live part, taking, writing (常用语 too), a
second clerk told, a case made from the conversation, transfer and close."""

from __future__ import annotations

import asyncio
import re

from bot.wechat.simulator import text_xml
from tests.console.support import csrf_of, staff_client

DONGCUN = "qinghe-dongcun"


async def _waiting(bot, openid: str = "resident-9", words: str = "有人吗") -> dict:
    await bot.say(openid, "绑定 东村")
    await bot.say(openid, "1")
    await bot.say(openid, "老人摔伤了住院，医保报销要准备什么")
    await bot.say(openid, words)
    [handoff] = await bot.store.handoffs.waiting()
    return handoff


async def _post(client, path: str, page_path: str, **fields):
    page = await client.get(page_path)
    return await client.post(path, data={"_csrf": csrf_of(await page.text()), **fields})


async def _texts(bot, openid: str, words: str, seconds: float = 10.0) -> list[str]:
    for _ in range(int(seconds / 0.02)):
        found = [t for t in bot.fake.texts_to(openid) if words in t]
        if found:
            return found
        await asyncio.sleep(0.02)
    return []


async def _page_says(client, path: str, words: str, seconds: float = 10.0) -> bool:
    """The page shows `words` within `seconds` (what a clerk sees on the next refresh)."""
    for _ in range(int(seconds / 0.05)):
        if words in await (await client.get(path)).text():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_clerk_takes_writes_and_closes_and_a_second_clerk_is_told(bot, aiohttp_client):
    handoff = await _waiting(bot)
    one = f"/console/handoffs/{handoff['id']}"
    clerk = await staff_client(bot, aiohttp_client, "dongcun", DONGCUN)
    listed = await (await clerk.get("/console/handoffs")).text()
    assert f'href="{one}"' in listed and "等待接待" in listed
    assert re.search(r'id="nav-handoffs"[^>]*>1/0<', listed)          # the count in the navigation
    page = await (await clerk.get(one)).text()
    assert "医保报销要准备什么" in page and "机器人按《医疗费用零星报销》作了答复" in page   # the conversation so far
    left = int(re.search(r"还可以发 (\d) 条客服消息", page).group(1))

    taken = await _post(clerk, one + "/take", one)
    assert taken.status == 200 and "已接待这位居民" in await taken.text()
    other = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    lost = await _post(other, one + "/messages", one, text="您好，我是镇中心的")
    assert lost.status == 409 and "已经由 dongcun 接待了" in await lost.text()
    assert not await _texts(bot, "resident-9", "我是镇中心的", seconds=0.3)

    sent = await _post(clerk, one + "/messages", one, text="您好，请带上出院小结和发票。")
    assert sent.status == 200 and "已发送给居民" in await sent.text()
    assert await _texts(bot, "resident-9", "请带上出院小结和发票")
    assert await _page_says(clerk, one, f"还可以发 {left - 1} 条客服消息")   # counted once the send is recorded

    assert await bot.send(text_xml("resident-9", "好的谢谢，发票是复印件行吗", msg_id=5001,
                                   create_time=int(bot.clock.timestamp()))) is None   # to the clerk, not the bot
    live = await (await clerk.get(one + "/live")).json()
    assert "发票是复印件行吗" in live["html"]
    assert live["status"] == "open" and (live["waiting"], live["open"]) == (0, 1)

    closed = await _post(clerk, one + "/close", one)
    assert closed.status == 200 and "对话已结束，已请居民评价" in await closed.text()
    assert await _texts(bot, "resident-9", "请为这次人工服务打个分")
    again = await _post(clerk, one + "/messages", one, text="还在吗")
    assert again.status == 409 and "这段对话已经结束" in await again.text()


async def test_new_resident_messages_show_in_the_live_part_without_a_reload(bot, aiohttp_client):
    handoff = await _waiting(bot)
    clerk = await staff_client(bot, aiohttp_client, "dongcun", DONGCUN)
    before = await (await clerk.get(f"/console/handoffs/{handoff['id']}/live")).json()
    assert "发票是复印件行吗" not in before["html"]
    await bot.say("resident-9", "发票是复印件行吗")
    after = await (await clerk.get(f"/console/handoffs/{handoff['id']}/live")).json()
    assert "发票是复印件行吗" in after["html"] and after["messages"] > before["messages"]
    rows = await (await clerk.get("/console/handoffs/live")).json()
    assert f"/console/handoffs/{handoff['id']}" in rows["html"] and rows["waiting"] == 1
    page = await clerk.get("/console/handoffs")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/console/live.js"' in await page.text()
    script = await clerk.get("/console/live.js")
    assert script.status == 200 and "data-live" in await script.text()
    other = await staff_client(bot, aiohttp_client, "xicun", "qinghe-xicun")
    assert (await other.get(f"/console/handoffs/{handoff['id']}/live")).status == 403
    assert (await other.get(f"/console/handoffs/{handoff['id']}")).status == 403
    assert f"/console/handoffs/{handoff['id']}" not in (await (await other.get("/console/handoffs/live")).json())["html"]


async def test_canned_replies_a_case_from_the_conversation_and_a_transfer(bot, aiohttp_client):
    handoff = await _waiting(bot, words="转人工")
    one = f"/console/handoffs/{handoff['id']}"
    clerk = await staff_client(bot, aiohttp_client, "dongcun", DONGCUN)
    added = await _post(clerk, "/console/canned", "/console/handoffs", center=DONGCUN,
                        text="您好，我是东村便民服务站的工作人员，请问有什么可以帮您？")
    assert added.status == 200 and "常用语已添加" in await added.text()
    [canned] = await bot.store.canned.of([DONGCUN])
    page = await (await clerk.get(one)).text()
    assert f'<option value="{canned["id"]}">' in page
    sent = await _post(clerk, one + "/messages", one, text="", canned=str(canned["id"]))
    assert sent.status == 200
    assert await _texts(bot, "resident-9", "请问有什么可以帮您")
    foreign = await staff_client(bot, aiohttp_client, "xicun", "qinghe-xicun")
    refused = await _post(foreign, "/console/canned", "/console/handoffs", center=DONGCUN, text="不是我的中心")
    assert refused.status == 403 and len(await bot.store.canned.of([DONGCUN])) == 1

    made = await _post(clerk, one + "/cases", one, kind="complaint", words="居民反映报销窗口态度差")
    assert made.status == 200
    [complaint] = await bot.store.cases.list(centers=None, openid="resident-9", kind="complaint")
    assert complaint.data["handoff"] == handoff["id"] and complaint.number in str(made.url)
    no_guide = await _post(clerk, one + "/cases", one, kind="proxy", guide="没有这个事项")
    assert no_guide.status == 400 and "事项名称" in await no_guide.text()
    proxy = await _post(clerk, one + "/cases", one, kind="proxy", guide="高龄津贴申领", words="居民请站里代办")
    assert proxy.status == 200
    assert "登记了投诉办件" in await (await clerk.get(one)).text()

    moved = await _post(clerk, one + "/transfer", one, center="town-center")
    assert moved.status == 200 and "已转给其他中心" in await moved.text()
    town = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    assert f"/console/handoffs/{handoff['id']}" in await (await town.get("/console/handoffs")).text()
    assert (await clerk.get(one)).status == 403   # now the town's
