"""The knowledge base the server answers from, swapped atomically on reload, when staff teach it
an example question, or when an editor publishes a guide or life event.

Guides and life events are kept in the store (bot/store/guides.py): at start an empty store is
given the knowledge folder's, and from then on every worker serves the store's published
documents — a publish bumps the knowledge revision every worker reads once a second. What stays
in files (centers, synonyms, intents, referrals and their examples) is read again on reload.

A change is served at once: the new guides with the matcher as it was (taught questions in its
exact table); when the change touches what the matcher learns from (names, aliases, keywords,
summaries, FAQ questions, conditions, examples), it learns again in the background and is
swapped in when done, within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from bot.errors import KnowledgeError
from bot.knowledge.documents import read_folder
from bot.knowledge.importing import seed
from bot.knowledge.loader import load_knowledge
from bot.knowledge.lexical import normalise
from bot.knowledge.matcher import Match, Matcher
from bot.knowledge.offload import MatchProcess
from bot.knowledge.model import Example, Knowledge, Target

if TYPE_CHECKING:
    from bot.store.store import Store

log = logging.getLogger(__name__)

TAUGHT = "taught:"   # the source of an example taught by staff: "taught:<id>"

Documents = dict[str, tuple[str, dict]]   # name → (kind, document)


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


def _load(directory: Path, taught: tuple[Example, ...] = (),
          documents: Iterable[tuple[str, dict]] | None = None) -> Knowledge:
    knowledge = load_knowledge(directory, documents)
    return with_taught(knowledge, taught) if taught else knowledge


def build(directory: Path, taught: tuple[Example, ...] = (),
          documents: Iterable[tuple[str, dict]] | None = None) -> Edition:
    """The folder's knowledge base, or with `documents` its guides and life events from those."""
    knowledge = _load(directory, taught, documents)
    return Edition(knowledge=knowledge, matcher=Matcher(knowledge))


def learned_from(knowledge: Knowledge) -> tuple:
    """What the matcher learns from: two knowledge bases equal in this answer alike."""
    targets = tuple((t.name, t.aliases, t.keywords, t.summary, tuple(f.q for f in t.faq), t.conditions)
                    for t in (*knowledge.guides.values(), *knowledge.bundles.values()))
    return (targets, knowledge.examples, knowledge.synonyms, knowledge.intents, knowledge.aspects,
            knowledge.referrals)


def _by_name(documents: Iterable[tuple[str, dict]]) -> Documents:
    return {document["name"]: (kind, document) for kind, document in documents}


class Library:
    def __init__(self, directory: Path):
        self.directory = directory
        self.edition = build(directory)  # a broken knowledge base stops start-up
        self.folder: Documents = _by_name(read_folder(directory, check=False))   # the folder's guides, as read
        self.documents = self.folder   # the guides and life events served
        self.stored = False   # the documents are the store's (else the folder's)
        self.taught: tuple[Example, ...] = ()
        self.revision: int | None = None   # the store's knowledge revision the taught examples are from
        self.learned = learned_from(self.edition.knowledge)   # what the matcher in use learned from
        self.relearning: asyncio.Task | None = None   # a matcher learning …
        self.learning: tuple = ()                      # … from this
        self._swaps: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self.apart: MatchProcess | None = None   # the helper process reading questions, if any
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

    async def match(self, question: str) -> Match:
        """The served matcher's reading of `question`: in the helper process when there is one."""
        if self.apart is not None:
            return await self.apart.match(question)
        return self.edition.matcher.match(question)

    async def named(self, match: Match) -> str | None:
        """The served matcher's `named(match)`: in the helper process when there is one."""
        if self.apart is not None:
            return await self.apart.named(match)
        return self.edition.matcher.named(match)

    def read_apart(self, tally: Callable[[str], None] = lambda where: None) -> None:
        """Read questions in a helper process from now on (`bot/knowledge/offload.py`);
        `tally(where)` counts each question by where it was read."""
        if self.apart is None:
            self.apart = MatchProcess(self, tally)
            self.apart.start()

    async def read_here(self) -> None:
        """Stop the helper process; questions are read in this one."""
        apart, self.apart = self.apart, None
        if apart is not None:
            await apart.close()

    async def open(self, store: "Store", now: datetime) -> None:
        """Serve the store's guides and life events. A store without any is first given the
        knowledge folder's (once, however many workers start together)."""
        seeded = await seed(store, list(self.folder.values()), now)
        if seeded:
            log.info("the store had no guides: %d guides and life events of %s published as version 1",
                     seeded, self.directory)
        self.stored, self.revision = True, None
        await self.refresh(store)

    async def stop_learning(self) -> None:
        """Drop the learning under way (the app is stopping, or the files were read again)."""
        task, self.relearning = self.relearning, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def settled(self) -> None:
        """Wait until the matcher has learned the latest change."""
        while self.relearning is not None and not self.relearning.done():
            await asyncio.wait({self.relearning})

    async def reload(self) -> bool:
        """Load the files again (centers, synonyms, intents, referrals …; with the store open,
        its guides stay); on any problem keep serving the old one."""
        async with self._swap():
            try:
                if self.stored:
                    documents, folder = self.documents, self.folder
                    edition = await asyncio.to_thread(build, self.directory, self.taught, documents.values())
                else:
                    edition = await asyncio.to_thread(build, self.directory, self.taught)
                    documents = folder = _by_name(await asyncio.to_thread(read_folder, self.directory, False))
            except KnowledgeError as e:
                log.error("knowledge base reload refused, still serving the previous one:\n%s", e)
                return False
            await self.stop_learning()
            self.edition, self.documents, self.folder = edition, documents, folder
            self.learned = learned_from(edition.knowledge)
        log.info("knowledge base reloaded: %d guides", len(edition.knowledge.guides))
        return True

    async def refresh(self, store: "Store") -> bool:
        """Take up what the store says changed (its revision moved): the guides and life events
        editors published, and the examples staff taught. The change is answered at once, and the
        matcher learns it in the background when it needs to (`settled`). True when something
        changed."""
        revision = await store.examples.revision()
        if revision == self.revision:
            return False
        async with self._swap():
            rows = await store.examples.list(("active",), limit=100_000)
            taught = tuple(Example(question=r.question, target=Target(r.target_kind, r.target_name),
                                   source=f"{TAUGHT}{r.id}") for r in reversed(rows))
            published = _by_name(await store.guides.published()) if self.stored else {}
            documents = published or self.documents
            if taught == self.taught and documents == self.documents:
                self.revision = revision
                return False
            try:
                knowledge = await asyncio.to_thread(_load, self.directory, taught, documents.values())
            except KnowledgeError as e:
                log.error("knowledge revision %d not taken up, still serving the previous one:\n%s", revision, e)
                self.revision = revision
                return True
            self._take_up(knowledge)
            self.taught, self.documents, self.revision = taught, documents, revision
        log.info("knowledge base now answers from revision %d: %d guides and life events, %d taught examples",
                 revision, len(knowledge.targets), len(taught))
        return True

    def _take_up(self, knowledge: Knowledge) -> None:
        """Serve `knowledge` now, with the matcher as it is; learn again in the background if
        the change touches what the matcher learns from (unless that is being learned already)."""
        self.edition = Edition(knowledge=knowledge, matcher=self.edition.matcher.answering_from(knowledge))
        key = learned_from(knowledge)
        if key == self.learned:
            return
        if self.relearning is not None and not self.relearning.done():
            if key == self.learning:
                return
            self.relearning.cancel()
        self.learning, self.relearning = key, asyncio.create_task(self._learn(knowledge, key))

    async def _learn(self, knowledge: Knowledge, key: tuple) -> None:
        matcher = await asyncio.to_thread(Matcher, knowledge)
        now = self.edition.knowledge   # a change since that the matcher does not read (a fee) is kept
        if learned_from(now) == key:
            self.edition = Edition(knowledge=now, matcher=matcher if now is knowledge else matcher.answering_from(now))
            self.learned = key
            log.info("the matcher has learned knowledge revision %s", self.revision)
