"""The report charts, drawn on the server as inline SVG with pygal.

Nothing is fetched from elsewhere and nothing runs in the browser: pygal's own script (its
tooltips) and its comments are taken out of each drawing. The words a chart shows (series
names, the label of a day) are given by the template that places it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from bot.store.reports import Busy, Daily, Weekly

LABEL_SIZE = 12


def _style(*colors: str) -> Style:
    """The console's look (its fonts, white ground), series coloured in this order."""
    return Style(font_family='"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", sans-serif',
                 background="#ffffff", plot_background="#ffffff", foreground="#222222", foreground_strong="#222222",
                 foreground_subtle="#778899", label_font_size=LABEL_SIZE, major_label_font_size=LABEL_SIZE,
                 legend_font_size=13, value_font_size=12, opacity=".9", opacity_hover=".9", colors=colors)


SERIES = _style("#1f5fa8", "#2e8b57", "#f0ad4e", "#c0392b", "#7b5ea7")
RATE = _style("#1f5fa8", "#c0392b")   # the share, then the line it should stay above, in red


def _plain(title: str):
    """An xml filter: the drawing's own title for screen readers; no script, no comments."""

    def apply(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                tag = child.tag if isinstance(child.tag, str) else ""   # comments have a function as tag
                if not tag or tag.rsplit("}", 1)[-1] == "script":
                    parent.remove(child)
                elif tag.rsplit("}", 1)[-1] == "title" and parent is root:
                    child.text = title
        root.set("role", "img")
        return root

    return apply


def _chart(kind: type, title: str, style: Style = SERIES, **config: Any) -> Any:
    """A pygal chart of `kind` as every report draws it: nothing from elsewhere, no script, whole labels."""
    config = {"width": 860, "height": 360, **config}
    chart = kind(style=style, js=[], disable_xml_declaration=True, truncate_legend=-1, truncate_label=-1,
                 legend_at_bottom=True, **config)
    return chart.add_xml_filter(_plain(title))


def _render(chart: Any) -> Markup:
    return Markup(chart.render(is_unicode=True))


def _whole_steps(top: int) -> list[int]:
    """Axis marks for counts: whole numbers only, at most about six of them."""
    step = max(1, -(-top // 5))
    return list(range(0, top + step, step))


def _day(day: date, label: str) -> str:
    return label.format(m=day.month, d=day.day)


def daily_bars(daily: Daily, *, title: str, names: dict[str, str], day: str) -> Markup:
    """Stacked bars, one per day, a colour per kind named in `names`; `day` labels a day ("{m}月{d}日")."""
    many = len(daily.days) > 14
    chart = _chart(pygal.StackedBar, title, x_labels=[_day(d, day) for d in daily.days],
                   x_labels_major_every=7 if many else None, show_minor_x_labels=not many,
                   x_label_rotation=30, y_labels=_whole_steps(max(daily.totals, default=0)),
                   value_formatter=lambda v: f"{v:.0f}")
    for kind, name in names.items():   # in the order the template names the kinds
        if kind in daily.counts:
            chart.add(name, list(daily.counts[kind]))
    return _render(chart)


def weekly_rate(weekly: Weekly, *, title: str, name: str, week: str, line: float | None = None,
                line_name: str = "") -> Markup:
    """A share per week on a 0-100 % scale, weeks without any case left as gaps; `line`, when
    given, is drawn as a dashed level (the 80 % satisfaction line)."""
    chart = _chart(pygal.Line, title, RATE, x_labels=[_day(w, week) for w in weekly.weeks], range=(0, 100),
                   y_labels=[0, 25, 50, 75, 100], value_formatter=lambda v: f"{v:.0f}%", dots_size=4,
                   allow_interruptions=True)
    chart.add(name, [None if rate is None else round(rate * 100, 1) for rate in weekly.rates])
    if line is not None:
        chart.add(line_name, [line * 100] * len(weekly.weeks), show_dots=False,
                  stroke_style={"width": 3, "dasharray": "8, 4"})
    return _render(chart)


def busiest_bars(busy: list[Busy], *, title: str, cases: str, bookings: str) -> Markup:
    """Horizontal bars, the busiest service on top: its cases and its appointments stacked."""
    # pygal reckons a label 0.6 em a character; a Chinese character takes a whole em
    longest = max((len(b.guide) for b in busy), default=0)
    chart = _chart(pygal.HorizontalStackedBar, title, x_labels=[b.guide for b in reversed(busy)],
                   height=120 + 34 * len(busy), margin_left=20 + round(0.4 * LABEL_SIZE * longest),
                   y_labels=_whole_steps(max((b.cases + b.bookings for b in busy), default=0)),
                   value_formatter=lambda v: f"{v:.0f}")
    chart.add(cases, [b.cases for b in reversed(busy)])
    chart.add(bookings, [b.bookings for b in reversed(busy)])
    return _render(chart)
