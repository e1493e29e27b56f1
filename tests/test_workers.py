"""Two `frontdesk serve` worker processes on one PostgreSQL, as a county runs them behind a
load balancer: a resident's dialog may hop between workers message by message, residents racing
for one last place through different workers still get it once, and a worker killed mid-load
loses nothing: WeChat's retries are answered by the other, and the outbox drains; PostgreSQL
restarted under load costs residents a polite "please send it again" at worst."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import Clock
from bot.config import PROJECT_ROOT
from bot.pusher import IN_FLIGHT
from bot.store import open_store
from bot.texts import Texts
from bot.wechat.fake import FakeWeChat
from bot.wechat.simulator import WeChatSide, text_xml
from tests.conftest import AES_KEY, APP_ID, SECRET, TOKEN
from tests.postgres import ThrowawayPostgres
from tests.support import free_port, stop

PLEASE_WAIT = Texts().chat("please_wait")   # the answer follows by push; WeChat's retry gets it
BOOK_IN_THE_VILLAGE = ["绑定 东村", "预约高龄津贴", "1", "1", "1"]   # bind, service, center, first day, first time


@dataclass
class Workers:
    bases: list[str]
    processes: list[subprocess.Popen]
    store_url: str
    fake: FakeWeChat
    postgres: ThrowawayPostgres
    side: WeChatSide
    session: aiohttp.ClientSession
    configs: list[Path]

    async def post(self, worker: int, xml: str) -> tuple[int, str]:
        """A message as WeChat sends it (signed, encrypted) to one worker: (status, reply text)."""
        query, body = self.side.seal(xml)
        async with self.session.post(self.bases[worker] + "/wechat", params=query, data=body) as resp:
            raw = await resp.text()
        if resp.status != 200:
            return resp.status, raw
        reply = self.side.open_reply(raw)
        return 200, reply["Content"] if reply else ""

    async def restart(self, worker: int, log: Path) -> None:
        """Start a worker again (after a kill) on its own config and port."""
        self.processes[worker] = _worker(self.configs[worker], log)
        await _until_up(self.session, self.bases[worker], self.processes[worker], log)

    async def say(self, worker: int, openid: str, text: str) -> str:
        """A resident's message to one worker; the text it answers."""
        status, reply = await self.post(worker, text_xml(openid, text))
        assert status == 200, reply
        return reply


def _config(tmp_path: Path, n: int, store_url: str, api_base: str, redis_url: str) -> Path:
    path = tmp_path / f"worker{n}.toml"
    path.write_text(f'''
[server]
port = {free_port()}
[wechat]
app_id = "{APP_ID}"
app_secret = "{SECRET}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
mode = "safe"
api_base = "{api_base}"
api_timeout_seconds = 1
[store]
url = "{store_url}"
[knowledge]
dir = "{PROJECT_ROOT / "knowledge"}"
[redis]
url = "{redis_url}"
''', encoding="utf-8")
    return path


def _worker(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--worker"],
                            stdout=log.open("a"), stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)


async def _until_up(session: aiohttp.ClientSession, base: str, process: subprocess.Popen, log: Path) -> None:
    for _ in range(600):   # a worker learns the knowledge base before it listens: seconds on a busy machine
        if process.poll() is not None:
            pytest.fail(f"worker exited: {log.read_text()}")
        try:
            async with session.get(base + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"worker did not start: {log.read_text()}")


@pytest.fixture(params=["postgresql", "postgresql+redis"])
async def workers(request, tmp_path, aiohttp_server, postgres_server):
    """Two workers, each its own `serve --worker` process and port, on a PostgreSQL schema of their
    own — alone, or with Redis beside it."""
    redis_url = ""
    if request.param.endswith("+redis"):
        redis_url = request.getfixturevalue("redis_server").url
        client = aioredis.from_url(redis_url)
        await client.flushdb()   # another test's dialogs and keys are not this one's
        await client.aclose()
    fake = FakeWeChat(app_id=APP_ID, app_secret=SECRET)
    api_base = str((await aiohttp_server(fake.app())).make_url("")).rstrip("/")
    store_url = postgres_server.url_for(await postgres_server.new_schema())
    processes, bases, configs = [], [], []
    async with aiohttp.ClientSession() as session:
        try:
            for n in range(2):
                config = _config(tmp_path, n, store_url, api_base, redis_url)
                log = tmp_path / f"worker{n}.log"
                configs.append(config)
                processes.append(_worker(config, log))
                port = re.search(r"port = (\d+)", config.read_text()).group(1)
                bases.append(f"http://127.0.0.1:{port}")
                await _until_up(session, bases[-1], processes[-1], log)
            yield Workers(bases=bases, processes=processes, store_url=store_url, fake=fake, postgres=postgres_server,
                          side=WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode="safe",
                                          heard=fake.heard),
                          session=session, configs=configs)
        finally:
            for process in processes:
                stop(process)


async def test_a_booking_dialog_hops_between_workers_and_completes(workers, tmp_path):
    script = [*BOOK_IN_THE_VILLAGE, "确认"]
    replies = [await workers.say(n % 2, "o-hopping", text) for n, text in enumerate(script)]
    assert "已绑定到清河镇东村便民服务站" in replies[0]
    assert "预约成功" in replies[-1], replies
    store = await open_store(workers.store_url, tmp_path)
    try:
        [booking] = await store.bookings.upcoming("o-hopping", Clock().now())
        assert booking.center == "qinghe-dongcun" and booking.code in replies[-1]
    finally:
        await store.close()


async def test_fifty_residents_on_two_workers_take_the_last_place_once(workers, tmp_path):
    residents = [f"o-racer-{n}" for n in range(50)]

    async def walk(n: int, openid: str) -> str:
        for step, text in enumerate(BOOK_IN_THE_VILLAGE):
            await workers.say((n + step) % 2, openid, text)
        return openid

    await asyncio.gather(*(walk(n, openid) for n, openid in enumerate(residents)))
    # everyone was offered the same first time at a one-window station; now all confirm at once
    answers = await asyncio.gather(*(workers.say(n % 2, openid, "确认") for n, openid in enumerate(residents)))
    store = await open_store(workers.store_url, tmp_path)
    try:
        rows = await store.fetchall("SELECT openid, start, window_no FROM bookings WHERE status='booked'")
    finally:
        await store.close()
    assert len(rows) == 1, rows
    assert sum("预约成功" in answer for answer in answers) + sum(
        "预约成功" in text for openid in residents for text in workers.fake.texts_to(openid)) == 1




async def test_a_guide_published_through_one_worker_is_told_by_the_other_within_five_seconds(workers, tmp_path):
    """An editor publishes a new fee and a new material through the store the first worker
    serves from; a resident asking the second is told them within five seconds."""
    question = "老年人优待证要带什么材料，要钱吗"
    before = await workers.say(1, "o-fee-before", question)
    assert "不收费" in before and "工本费5元" not in before
    store = await open_store(workers.store_url, tmp_path)
    try:
        record = await store.guides.get("老年人优待证办理")
        document = {**record.content, "fee": "工本费5元",
                    "materials": [*record.content["materials"], {"name": "社区出具的居住证明", "form": "原件",
                                                                 "copies": 1, "required": True}]}
        await store.guides.save_draft(record.name, record.kind, document, by="editor-1", now=Clock().now(),
                                      base=record.version)
        await store.guides.publish(record.name, by="editor-1", now=Clock().now())
    finally:
        await store.close()
    loop = asyncio.get_running_loop()
    published, told = loop.time(), ""
    for n in range(100):   # each look from another resident: one asking this often is asked to slow down
        told = await workers.say(1, f"o-fee-after-{n}", question)
        if "工本费5元" in told or loop.time() - published > 5.0:
            break
        await asyncio.sleep(0.1)
    assert "工本费5元" in told and "社区出具的居住证明" in told, told


async def test_a_worker_killed_mid_load_loses_nothing(workers, tmp_path):
    store = await open_store(workers.store_url, tmp_path)
    notified = [f"o-notified-{n}" for n in range(30)]
    try:
        for openid in notified:   # notices owed, drained by both workers' pushers, slowly
            await store.residents.seen(openid, Clock().now())   # the resident wrote, as WeChat knows too
            workers.fake.resident_acted(openid, "message")
            await store.outbox.add(openid, [f"您的办件已受理（{openid}）"], Clock().now())
        workers.fake.latency = 0.05
        asking = [f"o-asking-{n}" for n in range(30)]
        sent = {openid: text_xml(openid, "老年人优待证怎么办") for openid in asking}

        async def ask(openid: str) -> str:
            """As WeChat does: the same message again, to any worker, until it is answered."""
            for attempt in range(20):
                try:
                    status, reply = await workers.post(0 if attempt == 0 else 1, sent[openid])
                except aiohttp.ClientError:
                    status, reply = 0, ""
                if status == 200 and reply and reply != PLEASE_WAIT:
                    return reply
                await asyncio.sleep(1)
            return ""

        questions = asyncio.gather(*(ask(openid) for openid in asking))
        await asyncio.sleep(0.4)
        workers.processes[0].kill()   # kill -9, in the middle of it all
        answers = await questions
        for _ in range(300):
            if await store.outbox.pending_count() == 0:
                break
            await asyncio.sleep(0.1)
        assert await store.outbox.pending_count() == 0   # the outbox drained through the survivor
    finally:
        await store.close()
    assert all("老年人优待证" in answer for answer in answers), answers   # every retry answered
    delivered = [text for openid in notified for text in workers.fake.texts_to(openid)]
    assert set(delivered) == {f"您的办件已受理（{openid}）" for openid in notified}   # none lost
    # at least once: a worker killed after WeChat took a notice and before it marked it sent
    # leaves that notice to be sent again — only those in flight at the kill (a wave of sends, each
    # to another resident), so no resident hears one notice more than twice
    repeats = Counter(delivered)
    assert max(repeats.values()) <= 2 and len(delivered) - len(repeats) <= IN_FLIGHT


async def test_answer_in_progress_when_its_worker_is_killed_reaches_the_resident_once(workers, tmp_path):
    question = "老年人优待证怎么办"
    schema = re.search(r"search_path=(\w+)", workers.store_url).group(1)
    blocker = await asyncpg.connect(workers.postgres.url)
    try:
        # a slow store: the question's log line waits behind a lock, the answer with it
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(f"LOCK TABLE {schema}.inquiries IN EXCLUSIVE MODE")
        assert await workers.say(0, "o-killed-midway", question) == PLEASE_WAIT   # WeChat will not retry
        workers.processes[0].kill()   # kill -9 while it answers
        workers.processes[0].wait(timeout=10)
        # the dead worker's connections die with it, as when its machine goes down
        await blocker.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        await holding.rollback()
        await workers.restart(0, tmp_path / "worker0.log")
        for _ in range(400):   # the claim goes stale after 10 s; the restart or the other worker answers
            if workers.fake.texts_to("o-killed-midway"):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(6)   # a further round of both workers finds nothing left to answer
        pushed = workers.fake.texts_to("o-killed-midway")
        logged = await blocker.fetch(f"SELECT question FROM {schema}.inquiries WHERE openid = 'o-killed-midway'")
    finally:
        await blocker.close()
    assert len(pushed) == 1 and "老年人优待证" in pushed[0], pushed
    assert [row["question"] for row in logged] == [question]


async def test_postgresql_restarted_under_load_costs_an_apology_at_worst(workers, tmp_path):
    apology = Texts().chat("error")
    complainants = [f"o-complaint-{n}" for n in range(24)]
    words = "窗口工作人员中午提前一个小时就下班了，白跑一趟，我要投诉"

    async def complain(n: int, openid: str) -> str:
        await asyncio.sleep(n * 0.05)   # spread over the restart
        try:
            return await workers.say(n % 2, openid, words)
        except (aiohttp.ClientError, AssertionError) as e:
            return f"failed: {e}"

    load = asyncio.gather(*(complain(n, openid) for n, openid in enumerate(complainants)))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(workers.postgres.restart)
    answers = await load
    assert not [a for a in answers if a.startswith("failed")], answers   # every request got a reply
    assert all("投诉编号" in a or "编号" in a or a == apology for a in answers), answers
    for n, base in enumerate(workers.bases):   # both workers are alive and reach the database again
        async with workers.session.get(base + "/healthz") as resp:
            assert resp.status == 200, n
    # those who got the apology send it again, as it asks; then everyone has exactly one case
    for n, (openid, answer) in enumerate(zip(complainants, answers)):
        if answer == apology:
            assert "编号" in await workers.say(n % 2, openid, words)
    store = await open_store(workers.store_url, tmp_path)
    try:
        rows = await store.fetchall("SELECT openid, count(*) AS n FROM cases WHERE kind='complaint' GROUP BY openid")
    finally:
        await store.close()
    assert {r["openid"]: r["n"] for r in rows} == dict.fromkeys(complainants, 1)


async def test_serve_workers_restarts_a_worker_that_dies_and_stops_them_all(tmp_path, postgres_server):
    store_url = postgres_server.url_for(await postgres_server.new_schema())
    config = _config(tmp_path, 9, store_url, "http://127.0.0.1:9", "")
    port = re.search(r"port = (\d+)", config.read_text()).group(1)
    log = tmp_path / "supervisor.log"
    supervisor = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--workers",
                                   "2"], stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        async with aiohttp.ClientSession() as session:
            await _until_up(session, f"http://127.0.0.1:{port}", supervisor, log)
            for _ in range(100):
                if found := re.search(r"supervising 2 workers: (\d+), (\d+)", log.read_text()):
                    break
                await asyncio.sleep(0.1)
            first, second = int(found.group(1)), int(found.group(2))
            os.kill(first, signal.SIGKILL)
            for _ in range(100):
                if "starting another" in log.read_text():
                    break
                await asyncio.sleep(0.1)
            assert "starting another" in log.read_text()
            await _until_up(session, f"http://127.0.0.1:{port}", supervisor, log)
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
        await asyncio.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.kill(second, 0)   # the workers stopped with it
    finally:
        stop(supervisor)


def _scraped(text: str) -> dict[str, float]:
    """Each metric's samples summed over their labels."""
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0) + sample.value
    return totals


async def test_metrics_of_serve_workers_are_the_sum_of_every_worker(tmp_path, aiohttp_server, postgres_server):
    fake = FakeWeChat(app_id=APP_ID, app_secret=SECRET)
    fake.failing = -1   # WeChat is down: the notices wait
    api_base = str((await aiohttp_server(fake.app())).make_url("")).rstrip("/")
    store_url = postgres_server.url_for(await postgres_server.new_schema())
    store = await open_store(store_url, tmp_path)
    an_hour_ago = Clock().now() - timedelta(hours=1)
    try:
        for n in range(3):
            await store.residents.seen(f"o-waiting-{n}", Clock().now())   # within WeChat's 48 hours
            await store.outbox.add(f"o-waiting-{n}", ["您的办件已受理"], an_hour_ago + timedelta(minutes=n))
        await store.outbox.add("o-dead", ["您的办件已办结"], an_hour_ago)
        await store.write("UPDATE outbox SET dead_at=? WHERE openid='o-dead'", an_hour_ago.isoformat())
    finally:
        await store.close()
    config = _config(tmp_path, 8, store_url, api_base, "")
    base = "http://127.0.0.1:" + re.search(r"port = (\d+)", config.read_text()).group(1)
    log = tmp_path / "supervisor.log"
    supervisor = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--workers",
                                   "2"], stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    side = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode="safe")
    try:
        # a connection of its own for each request, so the kernel spreads them over both workers
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            for _ in range(900):   # both workers serving (each loads the knowledge base), not only the first
                if len(re.findall(r"frontdesk serving .*, worker \d+", log.read_text())) == 2:
                    break
                await asyncio.sleep(0.1)
            await _until_up(session, base, supervisor, log)
            for n in range(20):
                query, body = side.seal(text_xml(f"o-metrics-{n}", "老年人优待证怎么办"))
                async with session.post(base + "/wechat", params=query, data=body) as resp:
                    assert "老年人优待证" in side.open_reply(await resp.text())["Content"]
            for _ in range(100):   # the pushers try the notices: one token for both workers
                if fake.token_fetches:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            scrapes = []
            for _ in range(8):
                async with session.get(base + "/metrics") as resp:
                    scrapes.append(_scraped(await resp.text()))
    finally:
        stop(supervisor)
    for scraped in scrapes:
        assert scraped["frontdesk_messages_total"] == 20, scraped
        assert scraped["frontdesk_token_refreshes_total"] == fake.token_fetches == 1
        assert scraped["frontdesk_outbox_waiting"] == 3
        assert scraped["frontdesk_outbox_dead"] == 1
        assert 3600 <= scraped["frontdesk_outbox_oldest_waiting_seconds"] < 3600 + 120
