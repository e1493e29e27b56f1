"""Every word a resident or staff member reads comes from a Jinja2 template in templates/."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Callable

import jinja2

from bot.config import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "templates"
# WeChat shows at most 2048 bytes of a text message.
WECHAT_TEXT_LIMIT = 2048
KEPT = 512   # rendered texts kept by `Texts.once`: every guide and situation of a county, twice over


class Texts:
    def __init__(self, directory: Path = TEMPLATE_DIR):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,   # the templates ship with the code: no stat() of the file at every reply
        )
        self._kept: OrderedDict[tuple[int, ...], tuple[tuple, str]] = OrderedDict()
        self.env.filters["cn_num"] = lambda n: "①②③④⑤⑥⑦⑧⑨⑩"[n - 1] if 1 <= n <= 10 else f"{n}."

    def chat(self, template: str, /, **context) -> str:
        """A chat reply from templates/chat/<template>.txt, trimmed of blank edges."""
        text = self.env.get_template(f"chat/{template}.txt").render(**context)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    def once(self, of: tuple, render: Callable[[], str]) -> str:
        """`render()` for these objects, kept while they are the same objects: a published guide
        is read by the same words however many residents ask about it. The objects must not
        change (a guide, a config section); the last `KEPT` kinds of text are kept."""
        key = tuple(map(id, of))
        kept = self._kept.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], of)):
            self._kept.move_to_end(key)
            return kept[1]
        text = render()
        self._kept[key] = (of, text)   # the objects held, so their ids are not reused while kept
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return text

    def page(self, template: str, /, **context) -> str:
        return self.env.get_template(template).render(**context)


def fits(text: str, limit: int = WECHAT_TEXT_LIMIT) -> bool:
    return len(text.encode("utf-8")) <= limit


def split_text(text: str, limit: int = WECHAT_TEXT_LIMIT) -> list[str]:
    """Split a long text into messages that each fit WeChat's limit: between paragraphs where
    one fits (so a guide's next message begins with its next section), else at line ends."""
    def lines(paragraph: str) -> list[str]:
        return _pack(paragraph.splitlines(), "\n", limit, lambda line: _cut(line, limit))
    return _pack(text.split("\n\n"), "\n\n", limit, lines)


def _pack(pieces: list[str], sep: str, limit: int, split: Callable[[str], list[str]]) -> list[str]:
    """Pieces joined by `sep` into as few messages as fit; a piece too long for one is `split`."""
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{sep}{piece}" if current else piece
        if fits(candidate, limit):
            current = candidate
            continue
        if current:
            parts.append(current)
        *whole, current = split(piece) or [""]
        parts += whole
    if current:
        parts.append(current)
    return parts


def _cut(line: str, limit: int) -> list[str]:
    """A single overlong line cut by characters."""
    parts: list[str] = []
    while not fits(line, limit):
        cut = len(line)
        while not fits(line[:cut], limit):
            cut = cut * 3 // 4
        parts.append(line[:cut])
        line = line[cut:]
    return [*parts, line]
