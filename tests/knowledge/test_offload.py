"""Residents' questions read in the matcher's helper process (bot/knowledge/offload.py): the same
readings as the worker's own, the served knowledge base at once, and an answer whatever happens
to the helper."""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import opencc
import pytest
from pypinyin import lazy_pinyin

import bot.knowledge.offload as offload
from bot.config import PROJECT_ROOT
from bot.knowledge.library import Library
from bot.wechat.simulator import text_xml
from tests.conftest import KNOWLEDGE
from tests.support import free_port, plain_config, stop

READY_SECONDS = 90   # a helper imports numpy, scikit-learn and jieba, then learns a 65 MB matcher


async def _until(condition, seconds: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the helper did not get ready in time"
        await asyncio.sleep(0.05)


def _questions() -> list[str]:
    """Our own held-out questions, and each in Traditional characters and in toneless pinyin."""
    with (PROJECT_ROOT / "eval" / "own" / "questions.tsv").open(encoding="utf-8") as f:
        own = [row["question"] for row in csv.DictReader(f, delimiter="\t")]
    traditional = opencc.OpenCC("s2t")
    return [*own, *(traditional.convert(q) for q in own[::4]), *(" ".join(lazy_pinyin(q)) for q in own[::9])]


@pytest.fixture
async def apart(knowledge_library: Library):
    """The bundled knowledge base with a helper process reading its questions."""
    tallied: list[str] = []
    knowledge_library.read_apart(tallied.append)
    await _until(lambda: knowledge_library.apart.ready)
    yield knowledge_library, tallied
    await knowledge_library.read_here()


async def test_the_helper_reads_every_question_as_the_worker_would(apart):
    """Down to the last digit of every score: the helper's segmenter is given the words the
    worker's was (jieba cuts by them), and no sum depends on the order of a set."""
    library, tallied = apart
    questions = _questions()
    there = [await library.match(q) for q in questions]
    assert tallied == ["helper"] * len(questions)
    here = [library.matcher.match(q) for q in questions]
    differ = [(q, a, b) for q, a, b in zip(questions, there, here) if a != b]
    assert differ == [], f"{len(differ)} of {len(questions)} read differently, e.g. {differ[:2]}"
    named = [await library.named(m) for m in here]   # the service a request names in so many words
    assert named == [library.matcher.named(m) for m in here] and len(set(named)) > 20


async def test_questions_asked_together_are_all_answered_some_in_the_worker_when_the_helper_is_busy(apart):
    library, tallied = apart
    questions = [f"{q}{i}" for i, q in enumerate(["高龄津贴怎么申请", "低保要带什么材料", "社保卡丢了怎么补"] * 60)]
    readings = await asyncio.gather(*(library.match(q) for q in questions))
    assert [r.question for r in readings] == questions
    assert {r.best.name for r in readings[:3]} == {"高龄津贴申领", "最低生活保障申请", "社会保障卡挂失与补换"}
    assert tallied.count("helper") >= offload.BACKLOG and "worker" in tallied   # no more than BACKLOG wait there


async def test_a_changed_knowledge_base_is_read_at_once_and_then_in_the_helper(tmp_path):
    """An alias added and the files read again: the next question is read with it (in the
    worker while the helper learns), and so is every one after (in the helper)."""
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    library = Library(folder)
    tallied: list[str] = []
    library.read_apart(tallied.append)
    try:
        await _until(lambda: library.apart.ready)
        asked = "想办个喜糖证明"
        assert (await library.match(asked)).best.name != "婚姻登记"
        guide = folder / "guides" / "婚姻登记.toml"
        guide.write_text(guide.read_text(encoding="utf-8").replace("aliases = [", 'aliases = ["喜糖证明", ', 1),
                         encoding="utf-8")
        assert await library.reload()
        tallied.clear()
        assert (await library.match(asked)).best.name == "婚姻登记"
        assert tallied == ["worker"]
        await library.settled()
        await _until(lambda: library.apart.ready)
        assert (await library.match(asked)).best.name == "婚姻登记"
        assert tallied == ["worker", "helper"]
    finally:
        await library.read_here()


async def test_a_helper_that_dies_is_replaced_and_meanwhile_questions_are_read_in_the_worker(apart, monkeypatch):
    monkeypatch.setattr(offload, "RESTART_SECONDS", 0.2)
    library, tallied = apart
    first = library.apart.pid
    os.kill(first, signal.SIGKILL)
    await _until(lambda: library.apart.pid is None, 10)
    tallied.clear()
    assert (await library.match("高龄津贴怎么申请")).best.name == "高龄津贴申领"
    assert tallied == ["worker"]
    await _until(lambda: library.apart.ready)
    assert library.apart.pid != first
    assert (await library.match("高龄津贴怎么申请")).best.name == "高龄津贴申领"
    assert tallied == ["worker", "helper"]
    second = library.apart.pid
    await library.read_here()
    assert _state(first) == _state(second) == "gone"   # both ended and reaped: no zombie left


async def test_a_helper_that_stops_answering_is_replaced_and_the_question_read_in_the_worker(apart, monkeypatch):
    monkeypatch.setattr(offload, "LATE_SECONDS", 0.3)
    monkeypatch.setattr(offload, "RESTART_SECONDS", 0.2)
    library, tallied = apart
    stuck = library.apart.pid
    os.kill(stuck, signal.SIGSTOP)   # as if it hung
    try:
        tallied.clear()
        assert (await library.match("低保要带什么材料")).best.name == "最低生活保障申请"
        assert tallied == ["worker"]
        await _until(lambda: library.apart.ready)
        assert library.apart.pid != stuck
        await _until(lambda: _state(stuck) in ("Z", "gone"), 10)
    finally:
        if _state(stuck) not in ("Z", "gone"):
            os.kill(stuck, signal.SIGKILL)


async def test_a_resident_is_answered_through_the_callback_with_the_helper_reading(start_bot):
    bot = await start_bot(knowledge={"match_process": True})
    metrics = lambda: bot.client.get("/metrics")   # noqa: E731
    await _until_text(metrics, "frontdesk_matcher_helper_ready 1.0")
    reply = await bot.send(text_xml("resident-o", "我家老人八十多了，高龄津贴怎么申请", create_time=int(bot.clock.timestamp())))
    assert "高龄津贴" in reply["Content"] and "材料" in reply["Content"]
    text = await (await metrics()).text()
    assert 'frontdesk_questions_read_total{where="helper"} 1.0' in text


async def _until_text(get, wanted: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while wanted not in await (await get()).text():
        assert time.monotonic() < deadline, f"never saw {wanted!r}"
        await asyncio.sleep(0.1)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:   # a thread that ended meanwhile
            pass
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads children from Linux /proc")
def test_a_worker_killed_leaves_no_helper_behind(tmp_path):
    port = free_port()
    config = plain_config(tmp_path / "config.toml", port, "wxoffload", KNOWLEDGE)
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
                              stdout=(tmp_path / "serve.log").open("a"), stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not (helpers := _children(server.pid)):
            assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{helpers[0]}").exists() and _state(helpers[0]) != "Z":
            assert time.monotonic() < deadline, "the helper outlived its worker"
            time.sleep(0.1)
    finally:
        if server.poll() is None:
            stop(server)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"


@pytest.mark.parametrize("setting, cores, workers, wanted", [
    ("auto", 2, None, True), ("auto", 2, "2", False), ("auto", 8, "4", True), ("auto", 1, None, False),
    (True, 1, "4", True), (False, 8, None, False)])
def test_a_helper_is_started_where_a_core_would_otherwise_idle(setting, cores, workers, wanted, monkeypatch):
    monkeypatch.setattr(offload, "_cores", lambda: cores)
    if workers is None:
        monkeypatch.delenv(offload.WORKERS, raising=False)
    else:
        monkeypatch.setenv(offload.WORKERS, workers)
    assert offload.wanted(setting) is wanted
