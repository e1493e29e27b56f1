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


def build(directory: Path) -> Edition:
    knowledge = load_knowledge(directory)
    return Edition(knowledge=knowledge, matcher=Matcher(knowledge))


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
