"""Welcome on subscribe (by a station's QR code: bound to it at once); hello, thanks, goodbye
and help."""

from bot.context import Turn
from bot.knowledge.matcher import says
from bot.messages import Subscribe
from bot.router import Router
from handlers.centers import scanned

router = Router("greeting")

THANKS = ("谢谢", "多谢", "感谢", "解决了", "明白了", "知道了")
BYE = ("再见", "拜拜", "回见")
HELP = ("帮助", "help", "使用说明", "怎么用你", "你能做什么", "你会做什么", "有什么功能", "能干啥", "能干什么", "能办哪些",
        "能办什么", "能问什么", "能问哪些", "干啥用", "不会用")


@router.kind(Subscribe)
async def welcome(turn: Turn):
    scene = turn.message.scene
    if scene and (reply := await scanned(turn, scene, welcome=True)) is not None:
        return reply
    return turn.say("welcome", service=turn.ctx.config.service)


@router.intent("greeting")
async def greet(turn: Turn):
    text = turn.text
    if says(text, HELP):
        return turn.say("help")
    kind = "bye" if any(w in text for w in BYE) else "thanks" if any(w in text for w in THANKS) else "hello"
    hour = turn.ctx.clock.now().hour
    return turn.say("greeting", kind=kind, hour=hour, service=turn.ctx.config.service)
