"""Life events (高效办成一件事): "孩子刚出生要办哪些手续" answered with the whole event.

    question ──answer (a bundle)──▶ every step in order, one material list, where in one visit
                                      │
                                  bundle:topic ──材料──▶ the merged list again
                                      │        ──2 (a step's number)──▶ that guide's answer
                                      └──代办──▶ one 代办 request for the whole event (handlers/proxy.py)

A question about one service of the event ("出生登记要带什么") is the matcher's to send to that
guide; only a question about the event itself comes here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.choices import number
from bot.context import Turn
from bot.knowledge.bundles import Bundle, Needed, Step, merged_materials
from bot.knowledge.model import Center, Knowledge
from bot.replies import TextReply
from bot.router import Router
from bot.store.cases import CaseLine
from handlers.faq import answer_guide

router = Router("bundle")

TOPIC = "bundle:topic"
MATERIAL_WORDS = ("材料", "全部材料", "材料清单", "看材料", "合并材料")


@dataclass(frozen=True)
class Visit:
    """Where the station's services of a bundle are done: one center and the steps done there."""

    center: Center
    steps: tuple[str, ...]
    windows: tuple[str, ...]
    trips: int = 1   # 到办事现场次数 of the service there that needs most

def visits(bundle: Bundle, knowledge: Knowledge, home: str) -> tuple[list[Visit], list[str]]:
    """The centers of the resident's chain (station → town center → county) that take in the
    bundle's services, nearest first, each with the services done there in one visit; and the
    services none of them takes in (told with their own accepting unit)."""
    chain = knowledge.centers.chain(home)
    placed: dict[str, list[str]] = {}
    windows: dict[str, list[str]] = {}
    unplaced = []
    for name in bundle.services:
        guide = knowledge.guide(name)
        center = next((c for c in chain if guide is not None and name in c.accepts), None)
        if center is None or guide is None:
            unplaced.append(name)
            continue
        placed.setdefault(center.id, []).append(name)
        for n in center.windows_for(guide)[:1]:
            window = center.window(n)
            if window is not None and window.name not in windows.setdefault(center.id, []):
                windows[center.id].append(window.name)
    found = [Visit(c, tuple(placed[c.id]), tuple(windows.get(c.id, ())),
                   max(knowledge.guides[name].visits for name in placed[c.id])) for c in chain if c.id in placed]
    return found, unplaced


def bundle_asked(turn: Turn, at_least: float = 0.5) -> Bundle | None:
    """The life event the resident's message names with some confidence."""
    match = turn.match
    if match is None or match.best is None or match.best.score < at_least:
        return None
    return turn.ctx.library.knowledge.bundle(match.best.name)


def bundle_at_hand(turn: Turn) -> Bundle | None:
    """The life event just answered, when the resident asks for 代办 right after it."""
    dialog = turn.dialog
    if dialog is None or dialog.state != TOPIC:
        return None
    return turn.ctx.library.knowledge.bundle(dialog.data.get("bundle", ""))


def _materials(turn: Turn, bundle: Bundle) -> list[Needed]:
    return merged_materials(bundle, turn.ctx.library.knowledge.guides)


async def answer_bundle(turn: Turn, bundle: Bundle) -> TextReply:
    """Every step in order (ours and elsewhere), the merged material list, where the station's
    services are done in one visit, and the offer of one 代办 for the whole event; sent in as
    many messages as it takes, never cut short (一次性告知)."""
    await turn.enter(TOPIC, bundle=bundle.name)
    ctx = turn.ctx
    knowledge = ctx.library.knowledge
    home = await turn.home() or ctx.config.service.default_center
    found, unplaced = visits(bundle, knowledge, home)
    text = ctx.texts.chat("bundle_answer", b=bundle, guides=knowledge.guides, materials=_materials(turn, bundle),
                          visits=found, unplaced=unplaced, proxy=proxy_services(bundle, knowledge),
                          service=ctx.config.service)
    return turn.reply(text)


def proxy_services(bundle: Bundle, knowledge: Knowledge) -> tuple[str, ...]:
    """The bundle's services the station can handle for the resident (代办)."""
    return tuple(name for name in bundle.services if (g := knowledge.guide(name)) is not None and g.proxy)


def case_lines(bundle: Bundle, knowledge: Knowledge, texts) -> tuple[CaseLine, ...]:
    """One line per step of a 代办 request for the whole event: the services the station handles,
    each to be done, and the rest (handled elsewhere, or only in person) as notes."""
    handled = set(proxy_services(bundle, knowledge))
    lines = []
    for position, step in enumerate(bundle.steps, start=1):
        ours = step.guide and step.name in handled
        note = texts.chat("bundle_line", step=step, guide=knowledge.guide(step.name), ours=ours)
        lines.append(CaseLine(position=position, service=step.name, kind="ours" if ours else "elsewhere",
                              status="pending" if ours else "elsewhere", note=note))
    return tuple(lines)


@router.state(TOPIC)
async def follow_up(turn: Turn):
    knowledge = turn.ctx.library.knowledge
    bundle = knowledge.bundle(turn.dialog.data.get("bundle", ""))
    if bundle is None:
        return None
    text = turn.text.strip("？?。.！! ")
    if text in MATERIAL_WORDS:
        return turn.say("bundle_materials", b=bundle, materials=_materials(turn, bundle))
    picked = number(text)
    if picked is not None and 1 <= picked <= len(bundle.steps):
        step: Step = bundle.steps[picked - 1]
        guide = knowledge.guide(step.name) if step.guide else None
        if guide is not None:
            return await answer_guide(turn, guide)
        return turn.say("bundle_step", step=step, b=bundle)
    return None


@router.fallback
async def event_asked(turn: Turn):
    """A question the matcher answers with a life event (the guides' catch-all comes after)."""
    match = turn.match
    if match is None or match.decision != "answer" or not match.candidates:
        return None
    bundle = turn.ctx.library.knowledge.bundle(match.candidates[0].name)
    return await answer_bundle(turn, bundle) if bundle is not None else None
