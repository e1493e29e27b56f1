"""Redis stopped while residents and clerks work (a real redis-server, stopped mid-dialog): a
clerk's committed move answers what it did and is audited; what a resident types into a step of a
dialog — a 身份证号, a phone number — never enters the inquiry log."""

from __future__ import annotations

import pytest

from bot.api import CASE_DESK
from bot.texts import Texts
from tests.redis_server import ThrowawayRedis

UNAVAILABLE = Texts().chat("dialog_unavailable")
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def own_redis():
    """A Redis of this test's own, to stop in the middle of it."""
    program = ThrowawayRedis.find()
    if program is None:
        pytest.skip("redis-server is not installed (`make test` installs it)")
    server = ThrowawayRedis(program).start()
    yield server
    server.stop()


async def _logged(bot) -> list[str]:
    rows = await bot.store.fetchall("SELECT question, contact FROM inquiries")
    return [f"{row['question']} {row['contact'] or ''}" for row in rows]


async def test_numbers_typed_into_a_step_while_redis_is_down_are_not_logged_as_questions(start_bot, own_redis):
    bot = await start_bot(redis={"url": own_redis.url, "timeout_seconds": 0.2})
    r = "o-outage-step"
    assert "姓名" in await bot.say(r, "高龄津贴代办")
    assert "手机号" in await bot.say(r, "王秀英")
    before = await _logged(bot)
    own_redis.stop()
    for typed in ("138 0000 1234", ID_NUMBER, "13800001234", "王秀英"):
        assert await bot.say(r, typed) == UNAVAILABLE
    assert await _logged(bot) == before   # neither in clear, nor masked with the number sealed beside it
    answer = await bot.say(r, "老年人优待证怎么办")   # a question is still answered, and logged
    assert "居民身份证" in answer
    assert [q for q in await _logged(bot) if q not in before] == ["老年人优待证怎么办 "]


async def test_a_clerk_completing_a_case_while_redis_is_down_hears_the_result_and_it_is_audited(start_bot,
                                                                                                 own_redis):
    bot = await start_bot(redis={"url": own_redis.url, "timeout_seconds": 0.2})
    token = "token-outage"
    await bot.store.staff.add(name="clerk-outage", center="town-center", role="clerk", token=token,
                              now=bot.clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    await bot.store.residents.seen("o-outage-case", bot.clock.now())
    case = await bot.app[CASE_DESK].open(kind="proxy", openid="o-outage-case", guide="高龄津贴申领",
                                         center="town-center",
                                         data={"name": "张三", "phone": "13800001234", "phone_masked": "138****1234"})
    url = f"/api/cases/{case.number}/transitions"
    assert (await bot.client.post(url, json={"to": "accepted"}, headers=headers)).status == 200
    own_redis.stop()
    resp = await bot.client.post(url, json={"to": "completed", "note": "津贴已从下月起发放。"},
                                 headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "completed"
    assert (await bot.store.cases.get(case.number)).state == "completed"
    audit = await bot.store.fetchall("SELECT actor, action, detail FROM audit_log WHERE target=? ORDER BY id",
                                     case.number)
    assert [(row["actor"], row["action"], row["detail"]) for row in audit][-1] == (
        "clerk-outage", "case_move", "accepted → completed")
