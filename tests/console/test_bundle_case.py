"""A life event's 代办 (高效办成一件事) as the clerk sees it: one case with a line per service, in
the console and in the JSON API, each service marked done on its own."""

from __future__ import annotations

from bot.app import CASE_DESK
from tests.console.support import csrf_of, staff_client

VALID_ID = "11010519491231002X"


async def _newborn_case(bot) -> str:
    """A resident asks about a newborn, then for 代办 of the whole event, through /wechat."""
    r = "parent-console"
    await bot.say(r, "孩子刚出生要办哪些手续")
    for answer in ("代办", "王秀英", "13800001234", VALID_ID, "不用"):
        await bot.say(r, answer)
    done = await bot.say(r, "确认")
    return done.split("编号 ")[1].split("。")[0]


async def _api(bot, name: str) -> dict[str, str]:
    await bot.store.staff.add(name=name, center="town-center", role="clerk", token=f"token-{name}", now=bot.clock.now())
    return {"Authorization": f"Bearer token-{name}"}


async def test_the_clerk_sees_one_case_with_a_line_per_service_and_marks_one_done(bot, aiohttp_client):
    number = await _newborn_case(bot)
    clerk = await staff_client(bot, aiohttp_client, "qinghe", "town-center")
    page = await (await clerk.get(f"/console/cases/{number}")).text()
    assert "本件包含的事项（新生儿出生一件事）" in page
    lines = page.split('id="lines"', 1)[1].split("</table>", 1)[0]
    for position, service, state in ((1, "出生医学证明", "居民自己办"), (2, "预防接种证", "居民自己办"),
                                     (3, "出生登记", "待办理"), (4, "城乡居民基本医疗保险参保登记", "待办理"),
                                     (5, "社会保障卡申领", "待办理")):
        row = lines.split(f'id="line-{position}"', 1)[1].split("</tr>", 1)[0]
        assert service in row and state in row, row
    resp = await clerk.post(f"/console/cases/{number}/lines/3", data={"_csrf": csrf_of(page), "status": "done"})
    page = await resp.text()
    assert resp.status == 200 and "已记下这一项办好了" in page
    row = page.split('id="line-3"', 1)[1].split("</tr>", 1)[0]
    assert "已办好" in row and "改回待办理" in row
    assert "出生登记：已办好" in page                                # the history says which service
    refused = await clerk.post(f"/console/cases/{number}/lines/1", data={"_csrf": csrf_of(page), "status": "done"})
    assert refused.status == 400                                     # a step handled elsewhere is not ours to mark
    assert [l.status for l in (await bot.store.cases.get(number)).lines] == [
        "elsewhere", "elsewhere", "done", "pending", "pending"]
    accepted = await clerk.post(f"/console/cases/{number}/move",
                                data={"_csrf": csrf_of(page), "to": "accepted", "from": "submitted"})
    asking = (await accepted.text()).split('id="move-need_materials"', 1)[1].split("</form>", 1)[0]
    for material in ("出生医学证明", "监护人身份证", "随落户一方的居民户口簿"):   # the event's merged list, each once
        assert asking.count(f'value="{material}"') == 1, material


async def test_the_api_carries_the_lines_and_marks_a_service_done(bot):
    number = await _newborn_case(bot)
    headers = await _api(bot, "qinghe-api")
    case = await (await bot.client.get(f"/api/cases/{number}", headers=headers)).json()
    assert case["kind"] == "proxy" and case["guide"] == "新生儿出生一件事"
    assert [(l["service"], l["kind"], l["status"]) for l in case["lines"]] == [
        ("出生医学证明", "elsewhere", "elsewhere"), ("预防接种证", "elsewhere", "elsewhere"),
        ("出生登记", "ours", "pending"), ("城乡居民基本医疗保险参保登记", "ours", "pending"),
        ("社会保障卡申领", "ours", "pending")]
    bad = await bot.client.post(f"/api/cases/{number}/lines/4", json={"status": "finished"}, headers=headers)
    assert bad.status == 400 and "done" in (await bad.json())["message"]
    assert (await bot.client.post(f"/api/cases/{number}/lines/2", json={"status": "done"}, headers=headers)).status == 404
    resp = await bot.client.post(f"/api/cases/{number}/lines/4", json={"status": "done"}, headers=headers)
    assert resp.status == 200
    assert [l["status"] for l in (await resp.json())["lines"]] == ["elsewhere", "elsewhere", "pending", "done", "pending"]
    # accepted, the whole event is due by its slowest service's promised time (社保卡: 20 working days)
    moved = await (await bot.client.post(f"/api/cases/{number}/transitions", json={"to": "accepted"},
                                         headers=headers)).json()
    calendar = bot.app[CASE_DESK].calendar
    assert moved["deadline"] == calendar.add_workdays(bot.clock.now().date(), 20).isoformat()


async def test_a_case_of_one_service_has_no_lines(bot):
    headers = await _api(bot, "qinghe-one")
    case = await bot.app[CASE_DESK].open(kind="proxy", openid="r-one", guide="高龄津贴申领", center="town-center",
                                         data={"name": "张三"})
    shown = await (await bot.client.get(f"/api/cases/{case.number}", headers=headers)).json()
    assert shown["lines"] == []
