"""A resident's data on request (export, erase) and the retention purge, on both backends."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta

from bot.clock import FixedClock
from bot.config import PROJECT_ROOT, Config
from bot.retention import Retention
from bot.store import Dialog, open_store
from bot.vault import Vault

NOW = FixedClock().now()
ID_NUMBER = "11010519491231002X"


async def _resident(store, openid: str, at=NOW, window: int = 1) -> str:
    """A resident who asked, booked, applied, rated and waited for a person; their case number."""
    await store.residents.seen(openid, at)
    await store.inquiries.log(openid=openid, question="我电话13800001234，高龄津贴怎么领", intent="guide",
                              guide="高龄津贴申领", score=0.9, decision="answer", at=at)
    await store.dialogs.set(openid, Dialog("proxy:phone", {"name": "王秀英"}), at)
    handoff, _ = await store.handoffs.open(openid, "想问问进度", at, center="qinghe-dongcun")
    await store.handoffs.close(handoff["id"], by="staff:李", reason="staff", now=at, ask_rating=False)
    await store.bookings.book(openid=openid, guide="高龄津贴申领", center="qinghe-dongcun", start=at + timedelta(days=1),
                              windows=(window,), now=at, remind_at=None, max_active=3)
    case = await store.cases.create(kind="proxy", openid=openid, guide="高龄津贴申领", center="qinghe-dongcun",
                                    data={"name": "王秀英", "phone": "13800001234", "id_number": ID_NUMBER}, now=at,
                                    actor="resident", notice="已受理")
    await store.cases.move(case, to="rejected", actor="staff:李", note="王秀英本人未满80周岁", deadline=None, now=at,
                           notice=None)
    await store.ratings.add(case, 2, "王秀英：太慢了", at)
    [notice] = await store.outbox.waiting(openid)
    await store.outbox.sent(notice.id, at)
    return case.number


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "resident", *args], capture_output=True, text=True,
                          timeout=60, cwd=PROJECT_ROOT, env=dict(os.environ))


def test_a_resident_exports_and_erases_their_data_and_the_audit_keeps_it(tmp_path, store_url):
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "{store_url}"\n', encoding="utf-8")

    async def fill():
        store = await open_store(store_url, tmp_path, Vault.from_env())
        try:
            number = await _resident(store, "o-leaving")
            await _resident(store, "o-staying", window=2)
            return number
        finally:
            await store.close()

    number = asyncio.run(fill())
    exported = _cli("export", "--config", str(config), "o-leaving")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["cases"][0]["data"]["id_number"] == ID_NUMBER and data["cases"][0]["number"] == number
    assert data["questions"][0]["question"].startswith("我电话") and data["bookings"] and data["dialog_in_progress"]
    # the question is kept masked; the number typed into it is handed back to its owner opened
    assert (data["questions"][0]["question"], data["questions"][0]["contact"]) == \
        ("我电话138****1234，高龄津贴怎么领", "13800001234")

    assert _cli("erase", "--config", str(config), "o-leaving").returncode == 2   # asks for --yes first
    erased = _cli("erase", "--config", str(config), "o-leaving", "--yes")
    assert erased.returncode == 0 and "cases 1" in erased.stdout

    async def check():
        store = await open_store(store_url, tmp_path, Vault.from_env())
        try:
            left = await store.privacy.export("o-leaving")
            kept = await store.cases.get(number)
            other = await store.privacy.export("o-staying")
            audit = await store.audit.lines(centers=None, actor="command line")
            dump = json.dumps([dict(r) for table in ("cases", "case_history", "ratings") for r in
                               await store.fetchall(f"SELECT * FROM {table}")], ensure_ascii=False)
            dump += str(await store.fetchall("SELECT contact FROM inquiries WHERE openid='o-leaving'"))
            return left, kept, other, audit, dump
        finally:
            await store.close()

    left, kept, other, audit, dump = asyncio.run(check())
    assert not any(left[k] for k in ("resident", "questions", "cases", "ratings", "bookings", "notices",
                                     "conversations_with_a_person", "dialog_in_progress"))
    assert kept.state == "rejected" and kept.openid == "erased" and "phone" not in kept.data   # counted, anonymous
    assert len(other["cases"]) == 1 and other["questions"]   # nobody else's data went
    assert [line.action for line in audit] == ["resident_erase", "resident_export"]
    assert dump.count("王秀英") == 3   # o-staying's name, the refusal note and rating words: nothing of o-leaving's
    assert all(not line.note for line in kept.history)


def test_the_retention_purge_deletes_only_what_has_outlived_its_period(tmp_path, store_url):
    settings = Config.from_dict({"wechat": {"app_id": "wx", "app_secret": "s", "token": "t", "mode": "plain"},
                                 "retention": {"inquiries_days": 30, "closed_cases_days": 365, "bookings_days": 90,
                                               "notices_days": 30}}).retention

    async def run():
        store = await open_store(store_url, tmp_path, Vault.from_env())
        try:
            old = await _resident(store, "o-old", at=NOW - timedelta(days=400))
            recent = await _resident(store, "o-recent", at=NOW - timedelta(days=5))
            done = await Retention(store, FixedClock(), settings).purge()
            again = await Retention(store, FixedClock(), settings).purge()
            return old, recent, done, again, await store.privacy.export("o-old"), await store.privacy.export("o-recent")
        finally:
            await store.close()

    old, recent, done, again, gone, kept = asyncio.run(run())
    assert done["cases"] == 1 and done["questions"] == 1 and done["bookings"] == 1 and done["notices"] == 1
    assert done["conversations_with_a_person"] == 1
    assert not gone["conversations_with_a_person"] and kept["conversations_with_a_person"][0]["text"] == "想问问进度"
    assert not any(again.values())
    assert not gone["cases"] and not gone["questions"] and not gone["bookings"]
    assert [c["number"] for c in kept["cases"]] == [recent] and kept["questions"] and kept["bookings"]


async def test_a_resident_erased_while_the_server_runs_is_not_answered_from_the_step_they_were_in(bot, tmp_path):
    """One process on SQLite keeps dialogs in memory: an erasure from the command line beside it
    takes the dialog in progress too, and nothing of it is written back to the file."""
    r, other = "o-erased-midway", "o-staying-midway"
    for resident in (r, other):
        await bot.say(resident, "高龄津贴代办")
        assert "手机号" in await bot.say(resident, "王秀英")
    config = tmp_path / "erase.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "sqlite:///{tmp_path / "frontdesk.db"}"\n', encoding="utf-8")
    erased = await asyncio.to_thread(_cli, "erase", "--config", str(config), r, "--yes")
    assert erased.returncode == 0, erased.stderr

    reply = await bot.say(r, "13800001234")
    assert "身份证" not in reply and "王秀英" not in reply   # not taken as the phone number of the step
    assert "王秀英" not in json.dumps(await bot.store.privacy.export(r), ensure_ascii=False)
    assert "身份证" in await bot.say(other, "13800001234")   # another resident's step goes on where it was
