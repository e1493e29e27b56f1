"""Health and metrics endpoints, and knowledge reload that never breaks a serving bot."""

from __future__ import annotations

import shutil

from bot.app import LIBRARY
from bot.config import PROJECT_ROOT


async def test_healthz_answers_ok_when_the_store_answers(bot):
    resp = await bot.client.get("/healthz")
    assert resp.status == 200 and await resp.text() == "ok"


async def test_metrics_count_messages_by_kind_intent_and_decision(bot):
    await bot.say("r1", "老年人优待证怎么办")
    await bot.say("r1", "讲个笑话听听")
    text = await (await bot.client.get("/metrics")).text()
    assert 'frontdesk_messages_total{decision="answer",intent="guide",kind="text"} 1.0' in text
    assert 'frontdesk_messages_total{decision="fallback",intent="unknown",kind="text"} 1.0' in text
    assert "frontdesk_answer_seconds_bucket" in text


async def test_reload_keeps_the_old_knowledge_base_when_the_new_one_is_broken(start_bot, tmp_path, caplog):
    """What reload reads (the files beside the store's guides: centers, synonyms …) broken."""
    kb = tmp_path / "kb"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    bot = await start_bot(knowledge={"dir": str(kb)})
    synonyms = kb / "synonyms.toml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8") + "\nbroken = = =\n", encoding="utf-8")
    assert await bot.app[LIBRARY].reload() is False
    assert "reload refused" in caplog.text and synonyms.name in caplog.text
    assert "居民身份证" in await bot.say("r1", "老年人优待证怎么办")


async def test_reload_keeps_the_stores_guides_and_reads_the_files_again(start_bot, tmp_path):
    """A guide file edited after the store was seeded is not what residents read (the store's
    guide is); a synonym added to the file is taken up on reload."""
    kb = tmp_path / "kb"
    shutil.copytree(PROJECT_ROOT / "knowledge", kb)
    bot = await start_bot(knowledge={"dir": str(kb)})
    guide = kb / "guides" / "老年人优待证办理.toml"
    guide.write_text(guide.read_text(encoding="utf-8").replace('fee = "不收费"', 'fee = "工本费20元"'),
                     encoding="utf-8")
    synonyms = kb / "synonyms.toml"
    synonyms.write_text(synonyms.read_text(encoding="utf-8").replace("[synonyms]", '[synonyms]\n"夕阳红卡" = "老年人优待证"'),
                        encoding="utf-8")
    assert "老年人优待证" not in await bot.say("r1", "夕阳红卡怎么办")
    assert await bot.app[LIBRARY].reload() is True
    assert "老年人优待证" in await bot.say("r2", "夕阳红卡怎么办")
    fee = await bot.say("r3", "夕阳红卡要钱吗")
    assert "不收费" in fee and "工本费20元" not in fee, fee
