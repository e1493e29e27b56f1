"""The knowledge base the server answers from, swapped atomically on reload."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.errors import KnowledgeError
from bot.knowledge.loader import load_knowledge
from bot.knowledge.matcher import Matcher
from bot.knowledge.model import Knowledge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Edition:
    """One loaded knowledge base with its index; replaced whole, never edited."""

    knowledge: Knowledge
    matcher: Matcher


def fingerprint(directory: Path) -> tuple:
    """What the knowledge folder holds, as far as loading it is concerned: every file's path,
    size and modification time."""
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    return (str(directory.resolve()), *((str(p.relative_to(directory)), p.stat().st_size, p.stat().st_mtime_ns)
                                       for p in files))


class _Editions:
    """Editions already built in this process, by fingerprint: an edition is immutable, so a
    reload of an unchanged folder, or a second app on the same folder (the tests start many),
    shares it instead of learning the examples again (seconds each time)."""

    def __init__(self, keep: int = 4):
        self.keep = keep
        self.built: dict[tuple, Edition] = {}

    def get(self, directory: Path) -> Edition:
        key = fingerprint(directory)
        if (edition := self.built.get(key)) is None:
            knowledge = load_knowledge(directory)
            edition = Edition(knowledge=knowledge, matcher=Matcher(knowledge))
            if len(self.built) >= self.keep:
                self.built.pop(next(iter(self.built)))
            self.built[key] = edition
        return edition


_EDITIONS = _Editions()


def build(directory: Path) -> Edition:
    return _EDITIONS.get(Path(directory))


class Library:
    def __init__(self, directory: Path):
        self.directory = directory
        self.edition = build(directory)  # a broken knowledge base stops start-up
        log.info("knowledge base loaded: %d guides from %s", len(self.edition.knowledge.guides), directory)

    @property
    def knowledge(self) -> Knowledge:
        return self.edition.knowledge

    @property
    def matcher(self) -> Matcher:
        return self.edition.matcher

    async def reload(self) -> bool:
        """Load the knowledge base again; on any problem keep serving the old one."""
        try:
            edition = await asyncio.to_thread(build, self.directory)
        except KnowledgeError as e:
            log.error("knowledge base reload refused, still serving the previous one:\n%s", e)
            return False
        self.edition = edition
        log.info("knowledge base reloaded: %d guides", len(edition.knowledge.guides))
        return True
