"""Every word a resident or staff member reads comes from a Jinja2 template in templates/."""

from __future__ import annotations

from pathlib import Path

import jinja2

from bot.config import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "templates"
# WeChat shows at most 2048 bytes of a text message.
WECHAT_TEXT_LIMIT = 2048


class Texts:
    def __init__(self, directory: Path = TEMPLATE_DIR):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["cn_num"] = lambda n: "①②③④⑤⑥⑦⑧⑨⑩"[n - 1] if 1 <= n <= 10 else f"{n}."

    def chat(self, template: str, /, **context) -> str:
        """A chat reply from templates/chat/<template>.txt, trimmed of blank edges."""
        text = self.env.get_template(f"chat/{template}.txt").render(**context)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    def page(self, template: str, /, **context) -> str:
        return self.env.get_template(template).render(**context)


def fits(text: str, limit: int = WECHAT_TEXT_LIMIT) -> bool:
    return len(text.encode("utf-8")) <= limit


def split_text(text: str, limit: int = WECHAT_TEXT_LIMIT) -> list[str]:
    """Split a long text into messages that each fit WeChat's limit: between paragraphs where
    one fits (so a guide's next message begins with its next section), else at line ends."""
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if fits(candidate, limit):
            current = candidate
            continue
        if current:
            parts.append(current)
        pieces = _split_lines(paragraph, limit) if paragraph else [""]
        parts += pieces[:-1]
        current = pieces[-1]
    if current:
        parts.append(current)
    return parts


def _split_lines(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for line in text.splitlines():
        candidate = f"{current}\n{line}" if current else line
        if fits(candidate, limit):
            current = candidate
            continue
        if current:
            parts.append(current)
        while not fits(line, limit):  # a single overlong line: cut by characters
            cut = len(line)
            while not fits(line[:cut], limit):
                cut = cut * 3 // 4
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        parts.append(current)
    return parts
