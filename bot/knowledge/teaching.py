"""Staff teach the bot residents' words: a question marked as meaning a guide, an intent or a
referral becomes an example kept in the store (`bot.store.examples`), taken up by every worker
within seconds (`Library.refresh`). Editors and admins teach; clerks propose, for an editor to
accept or reject; supervisors only read. The console and the JSON API both come here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.knowledge.examples import MAX_LINE
from bot.knowledge.library import Library
from bot.knowledge.model import Target
from bot.personal import split_personal
from bot.store.examples import TaughtExample
from bot.store.staff import StaffMember
from bot.store.store import Store

# The intents a question may be taught to mean: the contract's, less `guide` and `unknown`.
INTENTS = ("booking", "proxy", "status", "complaint", "handoff", "centers", "rating", "greeting")
KINDS = ("guide", "intent", "referral")


@dataclass(frozen=True)
class Refused:
    """Why a teaching was not taken: `field` names what was wrong (`question`, `guide` …)."""
    code: str         # bad_request unknown_target forbidden not_found clash
    field: str = ""
    clashes: tuple[tuple[str, Target], ...] = ()


def may_teach(member: StaffMember) -> bool:
    return member.role in ("editor", "admin")


def may_propose(member: StaffMember) -> bool:
    return member.role in ("editor", "admin", "clerk")


class Teaching:
    def __init__(self, store: Store, library: Library):
        self.store, self.library = store, library

    def target(self, body: dict) -> Target | Refused:
        """The target a request names: exactly one of `guide`, `intent`, `referral`, known."""
        named = [kind for kind in KINDS if kind in body]
        if len(named) != 1 or not isinstance(body[named[0]], str):
            return Refused("bad_request", field=named[1] if len(named) > 1 else "guide")
        kind, name = named[0], body[named[0]].strip()
        knowledge = self.library.knowledge
        known = {"guide": knowledge.targets, "referral": knowledge.referrals, "intent": INTENTS}[kind]
        return Target(kind, name) if name in known else Refused("unknown_target", field=kind)

    def clashes(self, question: str, target: Target) -> tuple[tuple[str, Target], ...]:
        """Examples of other targets so close to `question` that teaching it may change their answer."""
        return tuple(self.library.matcher.close_examples(question, other_than=target))

    async def teach(self, member: StaffMember, *, question: object, target: Target, now: datetime,
                    address: str = "", confirm: bool = False) -> TaughtExample | Refused:
        """Keep the example (in use at once for an editor or admin, proposed for a clerk); an
        example close to another target's is refused with those examples unless `confirm`."""
        if not may_propose(member):
            return Refused("forbidden")
        if not isinstance(question, str) or not question.strip() or len(question.strip()) > MAX_LINE:
            return Refused("bad_request", field="question")
        masked, _ = split_personal(" ".join(question.split()))   # one line, as an example file holds it
        if not confirm and (clashes := self.clashes(masked, target)):
            return Refused("clash", field="question", clashes=clashes)
        example = await self.store.examples.add(question=masked, kind=target.kind, name=target.name,
                                                by=member.name, now=now, proposed=not may_teach(member))
        await self._audit(member, "example_" + ("add" if example.status == "active" else "propose"),
                          example, now, address)
        return example

    async def decide(self, member: StaffMember, example_id: int, *, action: str, now: datetime,
                     address: str = "") -> TaughtExample | Refused:
        """`accept` or `reject` a proposal, or `remove` an example (which undoes its teaching)."""
        if not may_teach(member):
            return Refused("forbidden")
        to, from_ = {"accept": ("active", ("proposed",)), "reject": ("rejected", ("proposed",)),
                     "remove": ("removed", ("active", "proposed"))}[action]
        example = await self.store.examples.decide(example_id, to=to, by=member.name, now=now, from_=from_)
        if example is None:
            return Refused("not_found")
        await self._audit(member, f"example_{action}", example, now, address)
        return example

    async def _audit(self, member: StaffMember, action: str, example: TaughtExample, now: datetime,
                     address: str) -> None:
        await self.store.audit.add(actor=member.name, role=member.role, action=action, center=member.center,
                                   target=f"{example.target_kind}:{example.target_name}",
                                   detail=f"#{example.id} {example.question}", address=address, now=now)


FOLDERS = {"guide": "guides", "intent": "intents", "referral": "referrals"}


def export(examples: list[TaughtExample], directory: Path) -> dict[str, int]:
    """Write taught examples into a knowledge folder's example files (`examples/guides/<name>.txt`
    …), after the lines already there, leaving out a question a file already holds: reviewed in
    version control, shipped to other counties. The count written per file."""
    written: dict[str, int] = {}
    for example in sorted(examples, key=lambda e: e.id):
        path = directory / "examples" / FOLDERS[example.target_kind] / f"{example.target_name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else [
            f"# {example.target_name} — example resident messages (相似问)"]
        if example.question in (line.strip() for line in lines):
            continue
        if "# taught by staff" not in lines:
            lines.append("# taught by staff")
        lines.append(example.question)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        key = str(path.relative_to(directory))
        written[key] = written.get(key, 0) + 1
    return written
