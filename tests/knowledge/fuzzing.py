"""What fuzzing the matcher and the knowledge-base loader checks, shared by the tests (a few
hundred examples) and `bench/fuzz.py` (as many as fit in a time budget)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import strategies as st

from bot.config import PROJECT_ROOT
from bot.knowledge.loader import load_guide
from bot.knowledge.matcher import Matcher
from bot.knowledge.model import INTENTS

GUIDES = sorted((PROJECT_ROOT / "knowledge" / "guides").glob("*.toml"))
SEEDS = ["老年证怎么办", "shebaoka diule zenme ban", "辦理身份證要帶什麼", "转人工", "预约", "进度", "1", "确认",
         "我要投诉", "几点上班", "ID card", "医保报销", "？？？", "😀"]

# residents' questions, and what else arrives: Traditional, pinyin, emoji, control characters, very long text
questions = (st.text(max_size=300) | st.sampled_from(SEEDS) |
             st.lists(st.sampled_from(SEEDS), max_size=6).map("".join) |
             st.tuples(st.sampled_from(SEEDS), st.text(max_size=30)).map("".join) |
             st.integers(0, 6000).map(lambda n: "社保卡" * n))


def check_match(matcher: Matcher, question: str) -> None:
    """The matcher always answers something sensible, whatever it is given."""
    found = matcher.match(question)
    assert found.decision in ("answer", "clarify", "refer", "fallback"), found
    assert found.intent in (*INTENTS, "guide", "unknown"), found
    assert len(found.candidates) <= 3
    assert all(0.0 <= c.score <= 1.0 for c in found.candidates), found.candidates
    scores = [c.score for c in found.candidates]
    assert scores == sorted(scores, reverse=True)
    if found.decision == "answer":
        assert found.best is not None and found.best.name in matcher.knowledge.guides
    if found.decision == "refer":
        assert found.best is not None and found.best.name in matcher.knowledge.referrals


@st.composite
def broken_guides(draw) -> tuple[str, str]:
    """(file name, text): a real guide with lines dropped, repeated, cut or given other values."""
    path = draw(st.sampled_from(GUIDES))
    lines = path.read_text(encoding="utf-8").splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "repeat", "cut", "value", "noise"]))
        if how == "drop":
            del lines[at]
        elif how == "repeat":
            lines.insert(at, lines[at])
        elif how == "cut":
            lines[at] = lines[at][:draw(st.integers(0, max(len(lines[at]) - 1, 0)))]
        elif how == "value" and "=" in lines[at]:
            key = lines[at].split("=", 1)[0]
            value = draw(st.sampled_from(['""', "0", "-3", "true", "[]", '["x"]', "{}", '"%s"' % "长" * 3,
                                          "1979-05-27", '[1, "a"]', "inf", '"\\u0000"']))
            lines[at] = f"{key}= {value}"
        else:
            lines.insert(at, draw(st.text(max_size=40)).replace("\r", ""))
    return path.name, "\n".join(lines)


PROBLEM = re.compile(r"^(?P<path>.+\.toml):(?P<line>\d+): \S")


def check_guide(name: str, text: str) -> None:
    """A broken guide is refused with its file and line, never with a crash."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        problems: list[str] = []
        guide = load_guide(path, problems)
        if guide is None:
            assert problems, "refused without saying why"
            for problem in problems:
                found = PROBLEM.match(problem)
                assert found and found["path"] == str(path), problem
                assert 1 <= int(found["line"]) <= max(text.count("\n") + 1, 1) + 1, problem
        else:
            assert not problems and guide.name == path.stem
