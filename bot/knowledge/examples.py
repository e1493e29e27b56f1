"""Example questions (相似问) and 首问负责 referrals: what the matcher learns residents' words from.

```
knowledge/
  examples/guides/<guide name>.txt          questions residents ask about that guide, one a line
  examples/intents/<intent>.txt             … asking for that intent (booking, handoff, status …)
  examples/referrals/<referral name>.txt    … about a matter handled elsewhere
  examples/out_of_scope.txt                 messages that are none of these (chit-chat, unrelated)
  referrals.toml                            [[referral]] name, handled_by, contact, how, local_check
```

A county improves its bot by adding lines to these files (or, from the console, taught examples),
not by changing code. Every problem is reported as `file:line: message`: a file that names no
guide, intent or referral, a line too long, and a clash — the same question (as the matcher
reads it) given to two different targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from bot.knowledge.model import INTENTS, NONE, Example, Guide, Referral, Target

MAX_LINE = 300
REFERRAL_KEYS = ("name", "handled_by", "contact", "how", "local_check")


def check_example(question: object, where: tuple, report) -> bool:
    """One example of a document: one line of words, as an examples file holds it."""
    if not isinstance(question, str) or question != question.strip() or len(question.splitlines()) != 1 \
            or question.startswith("#"):
        report.add(where, "bad_example", {}, "an example is one line of words, not blank, not starting with #")
        return False
    if len(question) > MAX_LINE:
        report.add(where, "long_example", {"max": MAX_LINE},
                   f"an example is one question of at most {MAX_LINE} characters")
        return False
    return True


def read_lines(path: Path, target: Target, problems: list[str]) -> list[Example]:
    """The examples of one file: one question a line; blank lines and `#` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{path}:1: cannot read: {e}")
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        question = line.strip()
        if not question or question.startswith("#"):
            continue
        if len(question) > MAX_LINE:
            problems.append(f"{path}:{number}: an example is one question of at most {MAX_LINE} characters")
            continue
        found.append(Example(question=question, target=target, source=f"{path}:{number}"))
    return found


def load_referrals(path: Path, guides: dict[str, Guide], problems: list[str],
                   read_toml: Callable) -> dict[str, Referral]:
    read = read_toml(path, problems)   # None: no referrals file, or one that does not read
    if read is None:
        return {}
    data, lines = read
    unknown = set(data) - {"referral"}
    for key in sorted(unknown):
        problems.append(f"{path}:{lines.of(key)}: unknown key `{key}`; expected [[referral]] tables")
    taken = {name for g in guides.values() for name in (g.name, *g.aliases)}
    referrals: dict[str, Referral] = {}
    tables = data.get("referral", [])
    if not isinstance(tables, list):
        problems.append(f"{path}:{lines.of('referral')}: `referral` must be an array of [[referral]] tables")
        return {}
    for n, table in enumerate(tables):
        where = f"{path}:{lines.of('referral', n)}"
        if not isinstance(table, dict):
            problems.append(f"{where}: a referral is a [[referral]] table")
            continue
        bad = [k for k in table if k not in REFERRAL_KEYS]
        missing = [k for k in REFERRAL_KEYS[:4] if not isinstance(table.get(k), str) or not table[k].strip()]
        checks = table.get("local_check", [])
        if bad or missing or not (isinstance(checks, list) and all(isinstance(c, str) for c in checks)):
            problems.append(f"{where}: a referral needs the strings {', '.join(REFERRAL_KEYS[:4])} and may have "
                            f"local_check (a list of strings)"
                            + (f"; unknown {', '.join(bad)}" if bad else "")
                            + (f"; missing or empty: {', '.join(missing)}" if missing else ""))
            continue
        name = table["name"].strip()
        if name in referrals:
            problems.append(f"{where}: referral {name!r} is named twice")
        elif name in taken:
            problems.append(f"{where}: {name!r} is one of our own guides or its alias: a guide is answered, "
                            f"never referred elsewhere")
        else:
            referrals[name] = Referral(name=name, handled_by=table["handled_by"].strip(),
                                       contact=table["contact"].strip(), how=table["how"].strip(),
                                       local_check=tuple(checks))
    return referrals


def load_examples(directory: Path, guides: dict[str, Guide], referrals: dict[str, Referral],
                  problems: list[str], bundles: dict | None = None, documents: bool = False) -> list[Example]:
    """`bundles`: the life events, whose examples (examples/bundles/<name>.txt) mean them as a
    guide's mean that guide. With `documents` the examples of guides and life events come with
    their documents (bot/knowledge/documents.py): their files here are not read."""
    folder = directory / "examples"
    if not folder.is_dir():
        return []
    known = {"guides": ("guide", set(guides)), "intents": ("intent", set(INTENTS)),
             "referrals": ("referral", set(referrals)), "bundles": ("guide", set(bundles or ()))}
    examples: list[Example] = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(folder)
        if relative == Path("out_of_scope.txt"):
            examples += read_lines(path, NONE, problems)
            continue
        part = relative.parts[0] if len(relative.parts) == 2 else ""
        if documents and part in ("guides", "bundles"):
            continue
        if part not in known or path.suffix != ".txt":
            problems.append(f"{path}:1: examples go in examples/guides/, examples/bundles/, examples/intents/ or examples/referrals/ "
                            f"as <name>.txt, or in examples/out_of_scope.txt")
            continue
        kind, names = known[part]
        if path.stem not in names:
            problems.append(f"{path}:1: {path.stem!r} is not a known {kind}"
                            + (f"; known intents: {', '.join(INTENTS)}" if kind == "intent" else ""))
            continue
        examples += read_lines(path, Target(kind, path.stem), problems)
    return examples


Told = Callable[[Example, str, dict, str], None]   # (example, code, params, text): a problem of an example


def told_in(problems: list[str]) -> Told:
    """Problems of examples read from files, as `file:line: message`."""
    return lambda example, code, params, text: problems.append(f"{example.source}: {text}")


def check_clashes(examples: list[Example], normal: Callable[[str], str], tell: Told) -> list[Example]:
    """The examples without repeats; a question given to two targets is a problem, named at both."""
    first: dict[str, Example] = {}
    kept = []
    for example in examples:
        key = normal(example.question)
        if not key:
            tell(example, "no_words", {}, "this example has no words the matcher can read")
            continue
        seen = first.get(key)
        if seen is None:
            first[key] = example
            kept.append(example)
        elif seen.target != example.target:
            tell(example, "example_clash", {"other": label_of(seen.target), "at": seen.source},
                 f"the same question is an example of {label_of(seen.target)} at {seen.source}, "
                 f"so it cannot also mean {label_of(example.target)}")
    return kept


def label_of(target: Target) -> str:
    return {"guide": "guide", "intent": "intent", "referral": "referral"}.get(target.kind, "out of scope") + (
        f" {target.name}" if target.name else "")
