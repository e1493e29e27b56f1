"""How many times a message goes to PostgreSQL and back: every trip is a wait for the worker and
work for the server, and with several workers the server is what they share.

A trip is one message sent to the server and its answer awaited: a statement (with its arguments
or as a plain query), a batch of `executemany`, a statement prepared the first time a connection
sees it, and the queries asyncpg's pool sends on its own (resetting a connection given back,
opening and closing a transaction). They are counted inside asyncpg, where each one is sent.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from asyncpg.connection import Connection

from bot.wechat.simulator import text_xml


class Trips:
    """Counts the trips of every asyncpg connection while installed, by the statement's first words."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.seen: Counter[str] = Counter()
        execute, run, run_many, statement = (Connection.execute, Connection._execute, Connection._executemany,
                                             Connection._get_statement)
        trips = self

        async def plain(conn, query, *args, **kwargs):
            if not args:   # sent as a simple query; with arguments it goes through `_execute`
                trips.note(query)
            return await execute(conn, query, *args, **kwargs)

        async def with_arguments(conn, query, *args, **kwargs):
            trips.note(query)
            return await run(conn, query, *args, **kwargs)

        async def batch(conn, query, *args, **kwargs):
            trips.note(query)
            return await run_many(conn, query, *args, **kwargs)

        async def prepared(conn, query, *args, record_class=None, ignore_custom_codec=False, **kwargs):
            key = (query, record_class or conn._protocol.get_record_class(), ignore_custom_codec)
            if conn._stmt_cache.get(key) is None:
                trips.note("PREPARE " + query)
            return await statement(conn, query, *args, record_class=record_class,
                                   ignore_custom_codec=ignore_custom_codec, **kwargs)

        monkeypatch.setattr(Connection, "execute", plain)
        monkeypatch.setattr(Connection, "_execute", with_arguments)
        monkeypatch.setattr(Connection, "_executemany", batch)
        monkeypatch.setattr(Connection, "_get_statement", prepared)

    def note(self, query: str) -> None:
        self.seen[" ".join(query.split()[:4])] += 1

    @property
    def total(self) -> int:
        return sum(self.seen.values())


async def _postgres_bot(start_bot, postgres_server, **more):
    return await start_bot(store={"url": postgres_server.url_for(await postgres_server.new_schema())}, **more)


_ids = itertools.count(9_000_000)   # a message id of its own for each


async def _asked(bot, trips: Trips, openids: list[str], question: str, answer: str) -> float:
    """Trips per question while each resident asks it in turn, each answered with `answer` in the text."""
    trips.seen.clear()
    for openid in openids:
        reply = await bot.send(text_xml(openid, question, create_time=int(bot.clock.timestamp()), msg_id=next(_ids)))
        assert reply is not None and answer in reply["Content"], reply
    return trips.total / len(openids)


async def _question_then_follow_up(bot, monkeypatch) -> tuple[float, dict, float, Trips]:
    """Twenty residents ask a guide question, then a follow-up read from their dialog: trips per
    question, what they were, trips per follow-up, and the counter (holding the follow-ups')."""
    trips = Trips(monkeypatch)
    # every statement prepared once on each pooled connection first: that is not the steady state
    for n in range(30):
        await bot.say(f"warm-{n}", "老年人优待证怎么办")
        await bot.say(f"warm-{n}", "要钱吗")
    residents = [f"r{n}" for n in range(20)]
    asked = await _asked(bot, trips, residents, "老年人优待证怎么办", "老年人优待证")
    first = dict(trips.seen)
    followed = await _asked(bot, trips, residents, "要钱吗", "不收费")
    return asked, first, followed, trips


async def test_a_guide_question_on_postgresql_takes_few_trips_to_the_server(start_bot, postgres_server, monkeypatch):
    bot = await _postgres_bot(start_bot, postgres_server)
    asked, first, followed, trips = await _question_then_follow_up(bot, monkeypatch)
    print(f"trips per question: {asked:.2f} {first}; per follow-up: {followed:.2f} {dict(trips.seen)}")
    # seven: the claim, the lock, the resident recorded with their dialog read, the question logged, the
    # dialog written, the lock released, the reply recorded (five for a follow-up: nothing logged or
    # written); the pusher and the knowledge poll meanwhile, and a statement prepared on a connection
    # the pool opened, are counted too — hence "fewer than one more"
    assert asked < 8, first
    assert followed < 6, dict(trips.seen)


async def test_with_redis_beside_it_postgresql_is_asked_once_for_a_follow_up(start_bot, postgres_server, redis_server,
                                                                               monkeypatch):
    bot = await _postgres_bot(start_bot, postgres_server, redis={"url": redis_server.url})
    asked, first, followed, trips = await _question_then_follow_up(bot, monkeypatch)   # the dialog in Redis
    print(f"with Redis, trips per question: {asked:.2f} {first}; per follow-up: {followed:.2f} {dict(trips.seen)}")
    # claims, locks, dialogs and replies live in Redis: PostgreSQL records the resident (and says
    # whether a person is talking with them) and logs the question
    assert asked < 3, first
    assert followed < 2, dict(trips.seen)
