"""`frontdesk kb …` and `frontdesk check-kb`: the knowledge base between its folder and the store.

`kb import` takes a knowledge folder or a provincial item list (.xlsx, .json) into the store as
drafts (or published at once), `kb export` writes the store's published guides back as a folder,
`kb export-examples` the examples staff taught; `check-kb` validates a folder.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial
from pathlib import Path

from bot.config import PROJECT_ROOT, Config
from bot.errors import KnowledgeError


def cmd_export_examples(args: argparse.Namespace) -> int:
    """The examples staff taught (in use now) written into a knowledge folder's example files."""
    from bot.knowledge.teaching import export
    from bot.store import open_store

    config = Config.load(args.config)

    async def taught():
        store = await open_store(config.store.url, config.base_dir)
        try:
            return await store.examples.list(("active",), limit=1_000_000)
        finally:
            await store.close()

    written = export(asyncio.run(taught()), Path(args.dir))
    for path, count in sorted(written.items()):
        print(f"{path}: {count} example{'s' if count > 1 else ''} added")
    print(f"{sum(written.values())} taught examples written to {args.dir}")
    return 0


def cmd_kb_import(args: argparse.Namespace) -> int:
    """A knowledge folder, or a provincial item list (.xlsx, .json), into the store: each guide a
    draft to review, or with --publish its next version; nothing when one is refused."""
    from bot.clock import Clock
    from bot.knowledge.documents import read_folder
    from bot.knowledge.importing import import_documents
    from bot.store import open_store

    config = Config.load(args.config)
    path = Path(args.path)
    over = None
    if path.is_dir():
        try:
            documents = read_folder(path)
        except KnowledgeError as e:
            print("\n".join(e.problems) + f"\nnot imported: {len(e.problems)} problem(s) in {path}", file=sys.stderr)
            return 1
    elif path.suffix in (".xlsx", ".json") and path.is_file():
        items = _item_list(path)
        if items is None:
            return 1
        documents = [("guide", document) for document in items.documents]
        over = partial(_over_published, items.given)
    else:
        print(f"{path}: expected a knowledge folder, or an item list as .xlsx or .json", file=sys.stderr)
        return 2

    async def put():
        store = await open_store(config.store.url, config.base_dir)
        try:
            return await import_documents(store, config.knowledge_dir, documents, publish=args.publish,
                                          by="command line", now=Clock().now(), over=over)
        finally:
            await store.close()

    result = asyncio.run(put())
    if result.refused or result.problems:
        for name, problems in sorted(result.refused.items()):
            print(f"refused {name}:" + "".join(f"\n  {p}" for p in problems), file=sys.stderr)
        for problem in result.problems:
            print(problem, file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        return 1
    for label, names in (("published", result.published), ("drafts to review", result.drafts),
                         ("unchanged", result.unchanged)):
        print(f"{label} ({len(names)}): {', '.join(names) or '-'}")
    return 0


def _over_published(given: dict, document: dict, published: dict) -> dict:
    """An item of the list for a guide the county publishes: the list's facts, the county's words."""
    from bot.knowledge.itemlist import over_published

    return over_published(document, given[document["name"]], published)


def _item_list(path: Path):
    """A provincial item list (bot.knowledge.itemlist.ItemList), or None (its problems said)."""
    from bot.knowledge.itemlist import read_item_list

    try:
        items = read_item_list(path)
    except KnowledgeError as e:
        print("\n".join(e.problems) + "\nnothing imported", file=sys.stderr)
        return None
    if items.unknown_columns:
        print(f"columns not imported: {', '.join(items.unknown_columns)}", file=sys.stderr)
    for problem in items.problems:   # items the list cannot make a guide of, data not taken
        print(problem, file=sys.stderr)
    return items


def cmd_kb_export(args: argparse.Namespace) -> int:
    """The store's published guides and life events as a knowledge folder (with the server's
    centers, synonyms, intents and referrals), which check-kb, match and eval read."""
    from bot.knowledge.importing import export_documents
    from bot.store import open_store

    config = Config.load(args.config)

    async def export() -> int:
        store = await open_store(config.store.url, config.base_dir)
        try:
            return await export_documents(store, config.knowledge_dir, Path(args.dir))
        finally:
            await store.close()

    count = asyncio.run(export())
    if not count:
        print("the store has no published guides yet (the server seeds it at its first start)", file=sys.stderr)
        return 1
    print(f"{count} guides and life events written to {args.dir}")
    return 0


def cmd_check_kb(args: argparse.Namespace) -> int:
    from bot.knowledge.loader import load_knowledge

    try:
        knowledge = load_knowledge(Path(args.kb or args.dir or PROJECT_ROOT / "knowledge"))
    except KnowledgeError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        print(f"{len(e.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {len(knowledge.guides)} guides, {len(knowledge.synonyms)} synonyms, "
          f"{len(knowledge.intents)} intents, {len(knowledge.centers.by_id)} centers "
          f"({sum(len(c.windows) for c in knowledge.centers.by_id.values())} windows), "
          f"{len(knowledge.referrals)} referrals, {len(knowledge.bundles)} life events, "
          f"{len(knowledge.examples)} examples")
    return 0


def add_to(sub: "argparse._SubParsersAction") -> None:
    """The `kb` commands and `check-kb` on the `frontdesk` command's parser."""
    kb = sub.add_parser("kb", help="the knowledge base and the store").add_subparsers(dest="kb_command", required=True)
    export_examples = kb.add_parser("export-examples", help="write the taught examples into a knowledge folder")
    export_examples.add_argument("--config", required=True)
    export_examples.add_argument("dir", help="the knowledge folder (its examples/ files are added to)")
    export_examples.set_defaults(func=cmd_export_examples)
    kb_import = kb.add_parser("import", help="a knowledge folder or an item list (.xlsx, .json) into the store")
    kb_import.add_argument("--config", required=True)
    kb_import.add_argument("path", help="a knowledge folder, or a provincial item list (.xlsx, .json)")
    kb_import.add_argument("--publish", action="store_true", help="publish at once (else drafts to review)")
    kb_import.set_defaults(func=cmd_kb_import)
    kb_export = kb.add_parser("export", help="the store's published guides as a knowledge folder")
    kb_export.add_argument("--config", required=True)
    kb_export.add_argument("dir", help="the folder to write")
    kb_export.set_defaults(func=cmd_kb_export)
    check = sub.add_parser("check-kb", help="validate the knowledge base")
    check.add_argument("dir", nargs="?", help="knowledge base folder (default: the bundled knowledge/)")
    check.add_argument("--kb", help="the same as DIR")
    check.set_defaults(func=cmd_check_kb)
