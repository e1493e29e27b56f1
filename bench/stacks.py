"""Where the samples of a py-spy profile went: `bench/load.py --profile FILE` writes one.

    .venv/bin/python bench/stacks.py FILE [--top 25]

Prints the share of all samples spent in each function (inclusive: anywhere on the stack) and
(self) at the top of the stack, and the share of a few groups of the hot path.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# groups of the hot path, by the first frame on the stack (from the top) that matches
GROUPS = [
    # the store's threads: aiosqlite's (reads, transactions) and the writer's (bot/store/group_commit.py:
    # only the batches that must wait, and checkpoints; quick batches are committed on the event loop);
    # py-spy counts a thread waiting for work in a queue as busy, so these include some idle time
    ("store threads (SQLite)", re.compile(r"_connection_worker_thread|\(concurrent/futures/thread\.py")),
    ("matcher", re.compile(r"\(bot/knowledge/")),
    ("templates (jinja2)", re.compile(r"\(jinja2/|Texts\.chat")),
    ("protocol (crypto, XML)", re.compile(r"Protocol\.(open|seal)")),
    ("store, PostgreSQL's client (asyncpg)", re.compile(r"\(asyncpg/")),
    ("store, on the event loop", re.compile(r"\(bot/store/|\(aiosqlite/")),
    ("HTTP (aiohttp)", re.compile(r"\(aiohttp/")),
    ("event loop", re.compile(r"\(asyncio/")),
]


def frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    inclusive, own, groups, total = Counter(), Counter(), Counter(), 0
    for line in Path(args.file).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        stack, count = frames(line)
        total += count
        for name in set(stack):
            inclusive[name] += count
        own[stack[-1]] += count
        for group, pattern in GROUPS:
            if any(pattern.search(frame) for frame in stack):
                groups[group] += count
                break
        else:
            groups["other"] += count
    print(f"{total} samples")
    print("groups (first that matches, in this order):")
    for group, _ in [*GROUPS, ("other", None)]:
        print(f"  {100 * groups[group] / total:5.1f} %  {group}")
    print(f"inclusive (top {args.top}):")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f} %  {name}")
    print(f"self (top {args.top}):")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
