"""Guides and life events into the store and out of it, as `frontdesk kb import` and
`frontdesk kb export` do: documents checked all together against what the store already
publishes and the files that stay with the server (centers, synonyms …), then each a draft to
review or, published at once, the next version; nothing at all when one is refused."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from bot.errors import KnowledgeError
from bot.knowledge.documents import check_document, read_folder, write_folder
from bot.knowledge.loader import load_knowledge

if TYPE_CHECKING:
    from bot.store.store import Store

SYSTEM = "system"
# what a folder exported from the store takes from the server's own knowledge folder, so that it
# loads (`frontdesk check-kb`, `match --kb`) as the server serves it
KEPT_IN_FILES = ("centers.toml", "synonyms.toml", "intents.toml", "referrals.toml", "examples/intents",
                 "examples/referrals", "examples/out_of_scope.txt")


@dataclass
class Imported:
    drafts: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)   # document → its problems
    problems: list[str] = field(default_factory=list)             # of the whole (a file of the server)


async def seed(store: "Store", documents: list[tuple[str, dict]], now: datetime) -> int:
    """A store without guides gets the knowledge folder's `documents`, published as version 1
    (once, however many workers start together); the number seeded."""
    return await store.guides.seed(documents, by=SYSTEM, now=now)


def _check(directory: Path, current: dict[str, tuple[str, dict]],
           documents: list[tuple[str, dict[str, Any]]], result: Imported) -> None:
    """The documents with what is published, as the server would load them: every problem. A
    name or alias claimed both by a published guide left as it is and by an imported document is
    blamed on the imported one: that is the one to change."""
    combined = {**current, **{d["name"]: (k, d) for k, d in documents}}
    try:
        knowledge = load_knowledge(directory, combined.values(), settled=set(current) - {d["name"] for _, d in documents})
    except KnowledgeError as e:
        for problem in e.problems:
            label, _, rest = problem.partition(": ")
            kind, _, name = label.partition(" ")
            if kind in ("guide", "bundle") and name in combined:
                result.refused.setdefault(name, []).append(rest)
            else:
                result.problems.append(problem)
        return
    for kind, document in documents:
        for p in check_document(kind, document, knowledge):
            result.refused.setdefault(document["name"], []).append(f"{p.field}: {p.text}" if p.field else p.text)


async def import_documents(store: "Store", directory: Path, documents: list[tuple[str, dict[str, Any]]], *,
                           publish: bool, by: str, now: datetime,
                           over: Callable[[dict, dict], dict] | None = None) -> Imported:
    """Each document a draft of its name (with `publish`, its next version) unless it equals
    what is there; nothing when any is refused. `directory`: the server's knowledge folder;
    `over(document, published)`: the document to import for one whose name is published (an
    item list keeps the county's own words)."""
    result = Imported()
    names = [d.get("name") for _, d in documents]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice or not all(isinstance(n, str) and n for n in names):
        result.problems.append("every document needs a name of its own" + (f"; twice: {', '.join(twice)}" if twice else ""))
        return result
    await seed(store, await asyncio.to_thread(read_folder, directory), now)
    current = {d["name"]: (k, d) for k, d in await store.guides.published()}
    if over is not None:
        documents = [(k, over(d, current[d["name"]][1]) if d["name"] in current else d) for k, d in documents]
    await asyncio.to_thread(_check, directory, current, documents, result)
    if result.refused or result.problems:
        return result
    changed = set(await store.guides.put(documents, by=by, now=now, publish=publish))
    for _, document in documents:
        name = document["name"]
        if name not in changed:
            result.unchanged.append(name)
        else:
            (result.published if publish else result.drafts).append(name)
    await store.audit.add(actor=by, role="admin", action="guides_import", now=now,
                          target="published" if publish else "drafts",
                          detail=", ".join(result.published or result.drafts) or "nothing changed")
    return result


async def export_documents(store: "Store", directory: Path, into: Path) -> int:
    """The published guides and life events written as a knowledge folder `into`, with the files
    that stay with the server copied from `directory`; the number of documents."""
    documents = await store.guides.published()
    await asyncio.to_thread(_export, documents, directory, into)
    return len(documents)


def _export(documents: list[tuple[str, dict]], directory: Path, into: Path) -> None:
    write_folder(documents, into)
    for part in KEPT_IN_FILES:
        source, target = directory / part, into / part
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.exists():
            shutil.copy(source, target)
