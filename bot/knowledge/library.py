"""The knowledge base the server answers from, swapped atomically on reload or when staff teach
it an example question."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import KnowledgeError
from bot.knowledge.loader import load_knowledge
from bot.knowledge.matcher import Matcher, normalise
from bot.knowledge.model import Example, Knowledge, Target

if TYPE_CHECKING:
    from bot.store.examples import TaughtExamples

log = logging.getLogger(__name__)

TAUGHT = "taught:"   # the source of an example taught by staff: "taught:<id>"


@dataclass(frozen=True)
class Edition:
    """One loaded knowledge base with its index; replaced whole, never edited."""

    knowledge: Knowledge
    matcher: Matcher


def with_taught(knowledge: Knowledge, taught: tuple[Example, ...]) -> Knowledge:
    """The knowledge base's examples and those staff taught. A taught question means what staff
    said it means: an example of the files with the same words and another target gives way (the
    editor saw that clash before saving). A taught example for a guide, intent or referral the
    files no longer have is left out, with a log line."""
    known = {"guide": knowledge.targets, "referral": knowledge.referrals, "intent": knowledge.intents}
    kept = []
    for example in taught:
        if example.target.name in known.get(example.target.kind, {}):
            kept.append(example)
        else:
            log.warning("taught example %s means %s %r, which the knowledge base no longer has; left out",
                        example.source, example.target.kind, example.target.name)
    taught_keys = {normalise(e.question, knowledge.synonyms): e.target for e in kept}
    files = [e for e in knowledge.examples
             if taught_keys.get(normalise(e.question, knowledge.synonyms), e.target) == e.target]
    return replace(knowledge, examples=(*files, *kept))


def build(directory: Path, taught: tuple[Example, ...] = ()) -> Edition:
    knowledge = load_knowledge(directory)
    if taught:
        knowledge = with_taught(knowledge, taught)
    return Edition(knowledge=knowledge, matcher=Matcher(knowledge))


class Library:
    def __init__(self, directory: Path):
        self.directory = directory
        self.edition = build(directory)  # a broken knowledge base stops start-up
        self.taught: tuple[Example, ...] = ()
        self.revision: int | None = None   # the store's knowledge revision the taught examples are from
        self._swaps: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        log.info("knowledge base loaded: %d guides from %s", len(self.edition.knowledge.guides), directory)

    def _swap(self) -> asyncio.Lock:
        """One reload or refresh at a time (a lock of the running loop: tests run several)."""
        loop = asyncio.get_running_loop()
        if self._swaps is None or self._swaps[0] is not loop:
            self._swaps = (loop, asyncio.Lock())
        return self._swaps[1]

    @property
    def knowledge(self) -> Knowledge:
        return self.edition.knowledge

    @property
    def matcher(self) -> Matcher:
        return self.edition.matcher

    async def reload(self) -> bool:
        """Load the knowledge base again; on any problem keep serving the old one."""
        async with self._swap():
            try:
                edition = await asyncio.to_thread(build, self.directory, self.taught)
            except KnowledgeError as e:
                log.error("knowledge base reload refused, still serving the previous one:\n%s", e)
                return False
            self.edition = edition
        log.info("knowledge base reloaded: %d guides", len(edition.knowledge.guides))
        return True

    async def refresh(self, examples: "TaughtExamples") -> bool:
        """Take up the examples staff taught, when the store's revision says they changed: the
        taught questions themselves are answered at once (the matcher's exact table), and the
        ranker is trained again with them in the background, so close variants follow within
        seconds. True when something changed."""
        revision = await examples.revision()
        if revision == self.revision:
            return False
        async with self._swap():
            rows = await examples.list(("active",), limit=100_000)
            taught = tuple(Example(question=r.question, target=Target(r.target_kind, r.target_name),
                                   source=f"{TAUGHT}{r.id}") for r in reversed(rows))
            if taught == self.taught:
                self.revision = revision
                return False
            self.edition.matcher.teach(taught)
            try:
                edition = await asyncio.to_thread(build, self.directory, taught)
            except KnowledgeError as e:
                log.error("taught examples not taken up: the knowledge base does not load:\n%s", e)
                return True
            self.edition, self.taught, self.revision = edition, taught, revision
        log.info("knowledge base now answers with %d taught examples (revision %d)", len(taught), revision)
        return True
