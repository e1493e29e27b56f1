"""Reading a resident's rating (好差评) in digits or in their own words, onto the national five
levels: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.

"5", "４分 办得快", "给五颗星" are digits; "挺好的 谢谢你们", "还行吧", "太慢了", "差勁" (Traditional),
"巴适得很" (Sichuan), "麻麻哋" (Cantonese), "不咋地" … are words. The text is folded to Simplified
and half width, voice fillers (嗯, 那个, 啊 …) and punctuation go, and it is read left to right,
longest phrase first, so "不满意" is not read as "满意" nor "还不错" as "不…". A phrase of praise
right after a negation (不太, 不是很, 唔系几 …) reads as 不满意. Words that praise and blame at once
("态度挺好就是太慢了") give no level: the resident is asked for one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import opencc

from bot.choices import cn_number

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}

PHRASES: dict[int, tuple[str, ...]] = {
    5: ("非常满意", "很满意", "特别满意", "十分满意", "太满意", "超满意", "非常好", "特别好", "太好了", "好极了",
        "棒极了", "太棒", "很棒", "真棒", "满分", "一百分", "五星", "点赞", "给力", "没得说", "没话说",
        "巴适", "好得很", "老好了", "贼好", "杠杠", "好正", "一流", "非常感谢", "太感谢", "万分感谢"),
    4: ("满意", "挺好", "蛮好", "满好", "很好", "真好", "不错", "好评", "四星", "比较好", "还算满意", "得劲",
        "要得", "几好", "好快", "挺快", "很快", "及时", "热情", "耐心", "周到", "省心", "赞"),
    3: ("基本满意", "还行", "还可以", "可以吧", "还好", "凑合", "将就", "一般", "马马虎虎", "过得去",
        "中规中矩", "就那样", "也就那样", "麻麻地", "麻麻哋", "三星", "说得过去", "差不多吧"),
    2: ("不满意", "不太满意", "不是很满意", "不怎么满意", "不大满意", "唔满意", "不咋地", "不咋样",
        "不怎么样", "不好", "不行", "太慢", "好慢", "很慢", "真慢", "慢死", "拖拉", "磨蹭", "等太久",
        "等了好久", "等好久", "这么慢", "那么慢", "好几趟", "跑了几趟", "白跑", "多跑", "态度不好", "态度差", "推来推去",
        "踢皮球", "失望", "差评", "两星", "二星", "麻烦死"),
    1: ("非常不满意", "很不满意", "特别不满意", "十分不满意", "太不满意", "极不满意", "差劲", "太差", "很差",
        "真差", "极差", "非常差", "特别差", "最差", "垃圾", "糟糕", "糟透", "恶劣", "太烂", "很烂", "烂透",
        "气死", "坑人", "不像话", "太过分", "一星", "零分"),
}
NEGATIONS = ("不是很", "不是太", "不怎么", "没那么", "没有那么", "唔系几", "唔系好", "不太", "不大", "不算",
             "不", "没", "唔", "冇")
FILLERS = ("那个", "这个", "就是说", "然后", "嗯", "呃", "额", "啊", "呀", "哈", "哦", "噢", "喔", "唉", "哎",
           "吧", "嘛", "啦", "咯", "呢", "哒", "滴")
THANKS = ("谢谢", "多谢", "感谢", "辛苦", "麻烦你们", "谢了", "唔该")
ASKING = ("吗", "么", "怎么", "咋", "哪", "什么", "啥", "几时", "多少", "多久", "多长", "能不能", "可不可以")
# phrases that hold a rating's words but say nothing of the matter
NEUTRAL = ("不好意思", "好意思", "不客气")

_T2S = opencc.OpenCC("t2s")
_BY_LENGTH = sorted([(p, level) for level, ps in PHRASES.items() for p in ps] + [(p, 0) for p in NEUTRAL],
                    key=lambda x: -len(x[0]))
# the phrases as one pattern tried in that order: at each place the longest one found there
_PHRASE = re.compile("|".join(re.escape(phrase) for phrase, _ in _BY_LENGTH))
_LEVEL_OF: dict[str, int] = {}
for _phrase, _level in _BY_LENGTH:
    _LEVEL_OF.setdefault(_phrase, _level)
_DIGITS = re.compile(r"^(?:给|打|评)?\s*([1-5一二三四五两])\s*(?:分|星|颗星|个星)?(?![0-9])[\s,，。.、:：!！]*(.*)$", re.S)


@dataclass(frozen=True)
class Reading:
    """What a reply says of the matter: a level (or None), and whether it is an opinion at all —
    praise, blame or thanks — rather than something else (a question, a new request)."""

    level: int | None
    opinion: bool
    words: str = ""   # what the resident added, kept with the rating


def fold(text: str) -> str:
    """Half width, Simplified, without punctuation, spaces and voice fillers."""
    text = _T2S.convert(unicodedata.normalize("NFKC", text))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    for filler in FILLERS:
        text = text.replace(filler, "")
    return text


def starts_with_score(text: str) -> bool:
    """"2 等了半个多月", "给五颗星": a score first, whatever follows."""
    return bool(_DIGITS.match(unicodedata.normalize("NFKC", text).strip()))


def read(text: str) -> Reading:
    said = unicodedata.normalize("NFKC", text).strip()
    if m := _DIGITS.match(said):
        level = int(m.group(1)) if m.group(1).isdigit() else cn_number(m.group(1).replace("两", "二"))
        return Reading(level=level, opinion=True, words=m.group(2).strip())
    folded = fold(said)
    levels, rest = _levels(folded)
    thanks = any(word in folded for word in THANKS)
    asking = "?" in said or any(word in rest for word in ASKING)   # "不咋样" is no question
    if asking:   # "不方便去，能送过来吗": a question, whatever words it holds
        return Reading(level=None, opinion=False)
    if not levels:
        return Reading(level=None, opinion=thanks)
    if min(levels) <= 2 < max(levels):
        return Reading(level=None, opinion=True)   # praise and blame at once: ask for a level
    level = min(levels) if max(levels) <= 2 else max(levels)
    return Reading(level=level, opinion=True, words=_words(said))


def _words(said: str) -> str:
    """What to keep with the rating: the resident's words, less a level named at their start."""
    simplified = _T2S.convert(said)
    for name in sorted(LEVELS.values(), key=len, reverse=True):
        if simplified.startswith(name):
            return said[len(name):].strip(" ，,。.!！、")[:200]
    return said[:200]


def _levels(folded: str) -> tuple[list[int], str]:
    """The level of each phrase found, left to right, longest first (praise after a negation is
    2), and what is left of the text around them."""
    found, rest, i = [], [], 0
    for phrase in _PHRASE.finditer(folded):
        level = _LEVEL_OF[phrase.group()]
        if level >= 3 and any(folded[:phrase.start()].endswith(n) for n in NEGATIONS):
            level = 2
        if level:
            found.append(level)
        rest.append(folded[i:phrase.start()])
        i = phrase.end()
    rest.append(folded[i:])
    return found, "".join(rest)
