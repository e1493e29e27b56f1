"""The matcher in a process of its own, so that the event loop answers other residents while a
question is read.

Reading a question is the costliest step of a message, and it holds Python's lock while it runs.
Here a helper process (`python -m bot.knowledge.offload`) reads the questions of the worker that
started it, on a core of its own, with a copy of the worker's matcher:

- The worker sends its matcher (pickled, about 65 MB for the real knowledge base) with the words
  its segmenter was given (`lexical.taught_words`: jieba cuts by them), and again whenever the
  library serves another matcher (a publish, a taught example, a reload) or the segmenter was
  given more words. A question goes to the helper only while the helper holds exactly what the
  worker would read it with; until then, and whenever the helper is gone, has `BACKLOG`
  questions waiting or fails on one, the worker reads the question itself. So a resident never
  waits on the helper's learning, and every reading is the one the worker would have made
  (tests/knowledge/test_offload.py).
- Frames on the helper's stdin and stdout: 4 bytes of length, then a pickle. Worker → helper:
  `("learn", generation, matcher, words)` and `("read", id, generation, reading, argument)` — a
  question's `match`, or the service a match `named`; helper → worker: `("learned", generation)`
  and `("answered", id, (result,) or None)` (None: another generation than the helper holds, or
  the matcher failed).
- The helper ends when its stdin closes, so also when the worker is killed: nothing is left
  behind (it ignores the stop signals a process group receives: its worker acts on them). A
  helper that dies is started again after `RESTART_SECONDS`; one that keeps a question
  `LATE_SECONDS` is ended (the question read in the worker) and started again.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable

from bot.knowledge.lexical import learn_words, taught_words

if TYPE_CHECKING:
    from bot.knowledge.library import Library
    from bot.knowledge.matcher import Match, Matcher

    State = tuple[Matcher, int]   # a matcher, and how many words the segmenter had been given

log = logging.getLogger(__name__)

BACKLOG = 64            # questions waiting in the helper beyond which the worker reads them itself
LATE_SECONDS = 2.0      # a helper this late with an answer is taken for stuck: ended, and started again
RESTART_SECONDS = 5.0   # after the helper ended unasked
STOP_SECONDS = 5.0      # a helper asked to end is killed if it has not after this
READINGS = ("match", "named")   # what the helper reads for the worker: `Matcher`'s methods
WORKERS = "FRONTDESK_WORKERS"   # how many workers `serve --workers N` started (set for each; 1 without)
_LENGTH = struct.Struct(">I")
_ROOT = Path(__file__).resolve().parent.parent.parent


def wanted(setting: bool | str) -> bool:
    """`[knowledge] match_process`: true, false, or "auto" — a helper for each worker while the
    machine has more cores than workers (with as many workers as cores, every core already
    reads questions, and a helper would only add the cost of passing them)."""
    if setting == "auto":
        return _cores() > int(os.environ.get(WORKERS, "1"))
    return bool(setting)


def _cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than there are)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def _frame(message: tuple) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


def _same(a: State | None, b: State) -> bool:
    return a is not None and a[0] is b[0] and a[1] == b[1]


class MatchProcess:
    """The worker's side: `match` reads a question with the library's matcher, in the helper
    when the helper holds it."""

    def __init__(self, library: "Library", tally: Callable[[str], None] = lambda where: None):
        """`tally("helper")` or `tally("worker")` for each question, by where it was read."""
        self.library = library
        self._tally = tally
        self._helper: _Helper | None = None
        self._reader: asyncio.Task | None = None
        self._starting: asyncio.Task | None = None
        self._shipping: asyncio.Task | None = None
        self._generations = itertools.count(1)
        self._sent: State | None = None     # what was last sent or is being sent …
        self._sent_generation = 0            # … and its number, once its frame is written
        self._there: State | None = None    # what the helper holds (it said so) …
        self._there_generation = 0           # … and its number
        self._requests = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._ended: list[_Helper] = []   # helpers gone, not yet reaped
        self._closing = False

    @property
    def ready(self) -> bool:
        """The helper holds what the worker reads questions with now."""
        return self._helper is not None and _same(self._there, self._state())

    @property
    def pid(self) -> int | None:
        """The helper's process id, while there is one."""
        return self._helper.pid if self._helper is not None else None

    def _state(self) -> State:
        return self.library.matcher, len(taught_words())

    def start(self) -> None:
        """Start the helper; it learns in the background, and questions are read here until then."""
        self._starting = asyncio.create_task(self._start())

    async def _start(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            helper = await _Helper.spawn()
        except OSError as e:
            log.error("the matcher's helper process did not start (%s); questions are read in this process", e)
            return
        if self._closing:
            helper.end()
            return
        self._helper = helper
        log.info("matcher helper process %d started", helper.pid)
        self._reader = asyncio.create_task(self._read(helper))
        self._ship(self._state())

    def _ship(self, state: State) -> None:
        """Send `state` to the helper — after the one being pickled, if any: while a matcher is
        learned the segmenter gains words for a while, and each state is not pickled anew."""
        if _same(self._sent, state) or self._helper is None or self._closing:
            return
        self._sent, self._sent_generation = state, 0
        if self._shipping is None or self._shipping.done():
            self._shipping = asyncio.create_task(self._send(self._helper))

    async def _send(self, helper: "_Helper") -> None:
        while helper is self._helper and self._sent is not None and not self._sent_generation:
            state, generation = self._sent, next(self._generations)
            frame = await asyncio.to_thread(_frame, ("learn", generation, state[0], taught_words()[:state[1]]))
            if helper is self._helper and self._sent is state:   # else: another is wanted by now
                self._sent_generation = generation
                helper.send(frame)

    async def match(self, text: str) -> "Match":
        """`Matcher.match(text)` of the library's matcher."""
        read, where = await self._ask("match", text)
        self._tally(where)
        return read

    async def named(self, match: "Match") -> str | None:
        """`Matcher.named(match)` of the library's matcher."""
        return (await self._ask("named", match))[0]

    async def _ask(self, reading: str, argument: object) -> tuple:
        """(the served matcher's `reading` of `argument`, "helper" or "worker": where it was read)."""
        state = self._state()
        helper = self._helper
        if helper is None or not _same(self._there, state) or len(self._pending) >= BACKLOG:
            self._ship(state)
            return getattr(state[0], reading)(argument), "worker"
        request = next(self._requests)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending[request] = future
        late = loop.call_later(LATE_SECONDS, self._late, helper, future)
        try:
            helper.send(_frame(("read", request, self._there_generation, reading, argument)))
            answered = await future
        finally:
            late.cancel()
            self._pending.pop(request, None)
        if answered is None:
            return getattr(state[0], reading)(argument), "worker"
        return answered[0], "helper"

    def _late(self, helper: "_Helper", future: asyncio.Future) -> None:
        if future.done():
            return
        future.set_result(None)   # read in the worker
        if helper is self._helper:
            log.error("matcher helper process %d has not answered a question in %g s; it is ended and "
                      "started again", helper.pid, LATE_SECONDS)
            self._there = None   # no more questions for it
            helper.kill()        # the reader sees it end

    async def _read(self, helper: "_Helper") -> None:
        try:
            while True:
                head = await helper.reader.readexactly(_LENGTH.size)
                message = pickle.loads(await helper.reader.readexactly(_LENGTH.unpack(head)[0]))
                if message[0] == "answered":
                    future = self._pending.get(message[1])
                    if future is not None and not future.done():
                        future.set_result(message[2])
                elif message[0] == "learned" and message[1] == self._sent_generation:
                    self._there, self._there_generation = self._sent, message[1]
                    log.info("matcher helper process %d reads questions now", helper.pid)
        except (asyncio.IncompleteReadError, ConnectionError):
            self._gone(helper)
        except asyncio.CancelledError:   # the app is torn down without its cleanup (its start failed)
            self._closing = True
            self._gone(helper)
            raise

    def _gone(self, helper: "_Helper") -> None:
        helper.end()
        self._ended = [h for h in (*self._ended, helper) if not h.reaped()]
        if helper is not self._helper:
            return
        self._helper = self._there = self._sent = None
        for future in self._pending.values():
            if not future.done():
                future.set_result(None)
        if not self._closing:
            log.error("matcher helper process %d ended; questions are read in this process until it is "
                      "started again in %g s", helper.pid, RESTART_SECONDS)
            self._starting = asyncio.create_task(self._start(RESTART_SECONDS))

    async def close(self) -> None:
        """Stop the helper: its stdin closed, it ends (or is killed after `STOP_SECONDS`)."""
        self._closing = True
        for task in (self._starting, self._shipping):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        helper, self._helper = self._helper, None
        for ended in (*self._ended, *([helper] if helper is not None else [])):
            ended.end()
            await asyncio.to_thread(ended.wait)
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        for future in self._pending.values():
            if not future.done():
                future.set_result(None)


class _Helper:
    """One helper process and the event loop's ends of its pipes. Started with `subprocess`
    itself (asyncio's subprocesses wait for a child's exit when a start is cancelled, and an
    app whose start fails cancels everything): the pipes are the loop's, the exit is not waited
    for — the helper's stdout ending says it is gone."""

    def __init__(self, popen: subprocess.Popen, reader: asyncio.StreamReader, writer: asyncio.WriteTransport):
        self.popen, self.reader, self.writer = popen, reader, writer
        self.pid = popen.pid

    @classmethod
    async def spawn(cls) -> "_Helper":
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
        popen = subprocess.Popen([sys.executable, "-m", "bot.knowledge.offload"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=env)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), popen.stdout)
            writer, _ = await loop.connect_write_pipe(asyncio.Protocol, popen.stdin)
        except BaseException:
            popen.kill()
            raise
        return cls(popen, reader, writer)

    def send(self, frame: bytes) -> None:
        """Queued on the pipe (written as the helper reads); lost if the helper is gone, which its
        reader notices."""
        if not self.writer.is_closing():
            self.writer.write(frame)

    def end(self) -> None:
        """Close its stdin: it ends once it has answered what it read."""
        self.writer.close()

    def reaped(self) -> bool:
        """It has ended and its exit status was collected (no zombie left)."""
        return self.popen.poll() is not None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()

    def wait(self) -> None:
        """Until it has ended (killed after `STOP_SECONDS`), and reaped."""
        try:
            self.popen.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            self.popen.wait()


def _read_frame(source: BinaryIO) -> tuple | None:
    head = source.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    size = _LENGTH.unpack(head)[0]
    body = source.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The helper: answer the frames of `source` on `sink` until `source` ends."""
    matcher, generation = None, 0
    while (message := _read_frame(source)) is not None:
        if message[0] == "learn":
            _, offered, offered_matcher, words = message
            try:
                learn_words(words)
            except ValueError:   # cannot happen while one worker feeds this helper from its start
                log.exception("the worker's words do not follow those learned; its questions are read there")
                matcher, generation = None, 0
            else:
                matcher, generation = offered_matcher, offered
                sink.write(_frame(("learned", generation)))
        elif message[0] == "read":
            _, request, asked, reading, argument = message
            answered = None
            if matcher is not None and asked == generation and reading in READINGS:
                try:
                    answered = (getattr(matcher, reading)(argument),)
                except Exception:   # the worker reads it again itself, and answers what it can
                    log.exception("the matcher failed on a question")
            sink.write(_frame(("answered", request, answered)))
        sink.flush()


def main() -> None:
    # The helper ends with its worker, when its stdin closes: a stop signal sent to the whole
    # process group is the worker's to act on (the helper would only end under it mid-shutdown).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)   # anything printed goes to stderr, not into the frames
    logging.basicConfig(level=logging.WARNING, format="matcher helper: %(levelname)s %(message)s")
    serve(sys.stdin.buffer, sink)


if __name__ == "__main__":
    main()
