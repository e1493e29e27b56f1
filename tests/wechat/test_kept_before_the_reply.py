"""What the store file holds while a message is answered and when its reply leaves: what a process
killed at that moment (kill -9) leaves for its restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta

from bot.messages import from_json
from bot.wechat.simulator import event_xml, text_xml

QUESTION = "老年人优待证怎么办"


def _file(bot):
    """The store file read on a connection of its own, as a restarted process would read it."""
    return sqlite3.connect(bot.config.resolve(bot.config.store.url.removeprefix("sqlite:///")))


async def test_a_claimed_question_is_in_the_file_before_it_is_answered_and_its_reply_when_it_leaves(
        start_bot, monkeypatch):
    bot = await start_bot(mode="plain", server={"reply_deadline_seconds": 30})
    from bot.store.repos import Inquiries

    answering, go_on = asyncio.Event(), asyncio.Event()
    real_log = Inquiries.log

    async def held_log(self, **kwargs):
        answering.set()
        await go_on.wait()   # the answer is being worked on: the process could die now
        await real_log(self, **kwargs)

    monkeypatch.setattr(Inquiries, "log", held_log)
    sent = asyncio.create_task(bot.send(text_xml("resident-k", QUESTION, create_time=int(bot.clock.timestamp()),
                                                 msg_id=900001)))
    await answering.wait()
    with _file(bot) as db:
        [(kept, reply)] = db.execute("SELECT pending, reply FROM processed_messages WHERE key=?",
                                     ("msg:resident-k:900001",)).fetchall()
    assert reply is None and from_json(bot.store.vault.open(kept)).content == QUESTION   # enough to answer it again
    go_on.set()
    answer = await sent
    assert "居民身份证" in answer["Content"]
    with _file(bot) as db:   # the moment WeChat has the reply, the file says it was given, and what was asked
        [(kept, reply)] = db.execute("SELECT pending, reply FROM processed_messages WHERE key=?",
                                     ("msg:resident-k:900001",)).fetchall()
        questions = db.execute("SELECT question FROM inquiries WHERE openid='resident-k'").fetchall()
    assert kept is None and json.loads(reply)["text"] == answer["Content"]
    assert questions == [(QUESTION,)]


async def test_a_resident_who_unsubscribes_leaves_their_dialog_behind(bot):
    await bot.say("resident-u", "我要预约")   # a booking dialog begins
    assert await bot.store.dialogs.get("resident-u", bot.clock.now(), timedelta(minutes=30)) is not None
    await bot.post(event_xml("resident-u", "unsubscribe", create_time=int(bot.clock.timestamp())))
    assert await bot.store.dialogs.get("resident-u", bot.clock.now(), timedelta(minutes=30)) is None
    with _file(bot) as db:
        assert db.execute("SELECT count(*) FROM dialogs WHERE openid='resident-u'").fetchone()[0] == 0
