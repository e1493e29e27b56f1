"""A recent month of the demo county's work: who asked what, which cases went where, who
talked to a clerk.

`frontdesk demo` seeds a fresh store with it, so a newcomer's console shows charts, overdue
cases, ratings, conversations and unanswered questions, and `/sim` can play as each resident.
The stories are data; how they are made through the real system is `bot.demo_month`. Every
choice comes from a fixed seed, so two demos look the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

from bot.demo_month import (
    DemoClock,
    Month,
    Persona,
    Step,
    found_in,
    applies,
    ask_proxy,
    ask_home_visit,
    book,
    complain,
    finish,
    on,
)
from bot.pusher import Pusher
from bot.wechat.simulator import WeChatSide

PERSONAS_FILE = "residents.json"
FIRST_DAY = 30        # the month starts this many days before today


# -- the month --------------------------------------------------------------------------------

# Questions residents ask on their own, written from the guides and from village life; a few are
# about things no guide covers, so the console's unanswered-question groups have something in them.
QUESTIONS = (
    "老年证要带啥", "我爸八十一了，高龄补贴咋领", "社保卡丢了去哪补", "养老金认证在手机上怎么弄",
    "孩子出生了户口怎么上", "居住证办下来要多久", "低保一年要复查吗", "残疾证评残要去医院吗",
    "新农合今年交多少钱", "去外地看病要备案吗", "灵活就业交社保在哪办", "失业金能领几个月",
    "种粮补贴什么时候发", "盖房子要审批吗", "独生子女证丢了能补吗", "镇上便民中心周六开门吗",
    "村里服务站几点上班", "开个小饭馆要办什么证", "个体户执照怎么办", "家庭医生怎么签约",
    "门诊慢性病怎么认定", "临时救助申请要多久", "办身份证要带户口本吗", "退伍军人优待证去哪领",
    "法律援助找谁", "邻居占我家地基，能调解吗", "出租房子要登记吗", "电费户名怎么改",
    "打工的地方不交社保，找谁", "老人去世了户口怎么销",
)
UNKNOWN_QUESTIONS = (
    "村里广场舞声音太大晚上睡不着", "广场舞太吵了有人管吗", "楼下跳广场舞吵得没法睡",
    "家里的狗要不要办狗证", "养狗要去哪登记", "村口路灯坏了一个礼拜了找谁修",
)
# everyday 代办 requests that went as they should: (who, village, request, name, phone, born, rating)
ROUTINE = (
    ("孙秀兰", "东村", "我妈八十五了，高龄津贴请村里帮忙代办", "孙秀兰", "13805310012", date(1962, 4, 3), "5"),
    ("周建华", "西村", "老人的养老保险待遇领取能不能帮忙代办", "周建华", "13605310234", date(1964, 9, 18), "4 挺快的"),
    ("徐凤英", "南街", "想给老头子办个老年证，能代办不", "徐凤英", "15953100456", date(1952, 12, 1), "非常满意"),
    ("何志刚", "北湾", "种粮补贴申领帮我代办一下", "何志刚", "13953100678", date(1971, 3, 27), "5"),
    ("高丽娟", "东村", "孩子医保参保登记能代办吗", "高丽娟", "18753100890", date(1988, 8, 8), "满意"),
    ("林永强", "西村", "残疾人两项补贴能代办吗，我哥是残疾人", "林永强", "13705311122", date(1973, 6, 15), "4"),
    ("罗桂芳", "", "独生子女奖励扶助想请人代办", "罗桂芳", "15805313344", date(1960, 10, 10), "5 谢谢小张"),
    ("梁建军", "北湾", "居住证请社区帮忙代办可以吗", "梁建军", "13305315566", date(1983, 2, 22), "1 说好十天，拖了一个月"),
)
def stories(m: Month) -> None:
    """Who did what this month. Days are counted back from today."""
    p = m.persona("王秀英（东村，78岁）", "绑定 东村", "请东村服务站代办高龄津贴，已办结送达，评了非常满意")

    async def wang_asks() -> None:
        wang["case"] = await applies(m, p, "腿脚不好跑不动，能不能请村里帮我代办高龄津贴", "王秀英", "13905317788",
                                     date(1948, 3, 12), asked=("我今年七十八了，高龄津贴能领吗",))
    wang: dict[str, str] = {}
    m.plan(on(20, 9, wang_asks, 10),
           on(20, 14, lambda: m.move(wang["case"], "accepted", who="dongcun")),
           on(18, 10, lambda: m.move(wang["case"], "in_progress", "材料已报镇民政办审核。", who="dongcun")),
           on(12, 15, lambda: finish(m, p, wang["case"], "已核准，从下月起按月发到您的社保卡。",
                                        "非常满意，村里小刘跑前跑后，谢谢", who="dongcun")),
           on(11, 10, lambda: m.move(wang["case"], "delivered", "审批结果已由网格员送到家中。", who="dongcun")))

    p2 = m.persona("李建国（西村，社保卡补办）", "绑定 西村", "代办社保卡补换，办结后评了不满意，镇里做了差评整改回复")
    li: dict[str, str] = {}

    async def li_asks() -> None:
        li["case"] = await applies(m, p2, "我在工地上走不开，社保卡补办能代办吗", "李建国", "13605318821",
                                   date(1969, 7, 2), asked=("社保卡丢了咋整",))
    m.plan(on(19, 20, li_asks),
           on(18, 9, lambda: m.move(li["case"], "accepted", who="xicun")),
           on(16, 11, lambda: m.move(li["case"], "need_materials", "还缺一张近期一寸白底照片，请交到西村服务站。",
                                        who="xicun")),
           on(16, 19, lambda: m.say(p2.openid, "照片明天让我老婆送过去")),
           on(15, 10, lambda: m.move(li["case"], "in_progress", "照片已收到，已报县社保中心制卡。", who="xicun")),
           on(7, 16, lambda: li_rates()))

    async def li_rates() -> None:
        thanks = await finish(m, p2, li["case"], "新卡已制好，请到西村服务站领取。", "2 等了半个多月，中间也没人告诉一声",
                              who="xicun")
        li["followup"] = found_in(r"回访编号 ([A-Z]\d{8}-\d{4})", thanks, "followup number")

    async def li_followup_done() -> None:
        await m.move(li["followup"], "accepted")
        await m.move(li["followup"], "completed", "已向您致歉。制卡期间我们会每周告知进度，这一条已列入镇中心整改。")
    m.plan(on(6, 10, li_followup_done),
           on(5, 9, lambda: m.move(li["case"], "delivered", "新卡已本人领取。", who="xicun")))

    p3 = m.persona("张桂兰（南街社区，临时救助）", "绑定 南街", "临时救助代办已受理，超过承诺时限还没办结")
    zhang: dict[str, str] = {}

    async def zhang_asks() -> None:
        zhang["case"] = await applies(m, p3, "老伴住院花了好多钱，想申请临时救助，能帮我代办吗", "张桂兰",
                                        "15853106632", date(1958, 11, 20))
    m.plan(on(21, 10, zhang_asks),
           on(20, 9, lambda: m.move(zhang["case"], "accepted")),
           on(19, 15, lambda: m.move(zhang["case"], "in_progress", "已入户调查，材料报县民政局审批。")),
           on(4, 9, lambda: m.say(p3.openid, "我申请的临时救助批下来没有")))

    p4 = m.persona("赵志强（北湾村，农村建房）", "绑定 北湾", "宅基地建房审批代办，镇里延期办理")
    zhao: dict[str, str] = {}

    async def zhao_asks() -> None:
        zhao["case"] = await applies(m, p4, "农村盖房审批能不能请镇里代办", "赵志强", "13953127745", date(1975, 5, 8),
                                     asked=("翻盖老房子要不要审批",))
    m.plan(on(20, 19, zhao_asks),
           on(19, 10, lambda: m.move(zhao["case"], "accepted")),
           on(15, 10, lambda: m.move(zhao["case"], "in_progress", "已组织现场踏勘。")),
           on(3, 11, lambda: m.move(zhao["case"], "extended", "需等县自然资源局复核用地范围，办理时限顺延。",
                                       deadline=(m.started.date() + timedelta(days=14)).isoformat())))

    p5 = m.persona("陈玉梅（清河镇，居住证明）", "", "代办居住证明开具，不予办理（说明了原因）")
    chen: dict[str, str] = {}

    async def chen_asks() -> None:
        chen["case"] = await ask_proxy(m, p5, "居住证明能代办吗，我在外地上班", "陈玉梅", "18653102214",
                                       date(1990, 1, 9))
    m.plan(on(14, 12, chen_asks),
           on(13, 9, lambda: m.move(chen["case"], "rejected",
                                       "居住证明要核实您本人在本地实际居住，委托办理须提供社区入户核实记录；请回来后到南街社区先登记。")))

    p6 = m.persona("孙德福（东村，养老金认证上门）", "绑定 东村", "卧床老人请工作人员上门做养老金认证，已完成")
    sun: dict[str, str] = {}

    async def sun_asks() -> None:
        await m.say(p6.openid, p6.bind)
        sun["case"] = await ask_home_visit(m, p6, "我爹瘫在床上出不了门，能不能请人上门给他做养老金认证",
                                           "清河镇东村二组15号", "13505318890")

    async def sun_scheduled() -> None:
        visit = m.clock.now() + timedelta(days=1)
        await m.move(sun["case"], "accepted", who="dongcun", visit_at=visit.replace(hour=9, minute=30).isoformat())
    m.plan(on(11, 8, sun_asks),
           on(11, 10, sun_scheduled),
           on(10, 11, lambda: finish(m, p6, sun["case"], "已上门完成认证，本年度待遇照常发放。", "5", who="dongcun")))

    p7 = m.persona("周海（清河镇，投诉窗口）", "", "投诉窗口人员态度，已回复处理结果")
    zhou: dict[str, str] = {}

    async def zhou_complains() -> None:
        zhou["case"] = await complain(m, p7, "上周五上午在镇便民服务中心社保窗口，工作人员一直玩手机，问两遍都不理人，我要投诉")
    m.plan(on(9, 11, zhou_complains),
           on(9, 15, lambda: m.move(zhou["case"], "accepted")),
           on(7, 16, lambda: finish(m, p7, zhou["case"],
                                         "经调查情况属实，已对当班人员批评教育，并加强了窗口纪律检查，向您诚恳致歉。", "3")))

    p8 = m.persona("吴小燕（西村，投诉办理慢）", "绑定 西村", "投诉办理拖延，镇里已受理正在核查")
    wu: dict[str, str] = {}

    async def wu_complains() -> None:
        await m.say(p8.openid, p8.bind)
        wu["case"] = await complain(m, p8, "我要投诉，西村服务站答应帮我交医保，过了十天还没交上，打电话也没人接")
    m.plan(on(2, 20, wu_complains),
           on(1, 9, lambda: m.move(wu["case"], "accepted")))

    p9 = m.persona("郑国庆（清河镇，预约办社保卡）", "", "预约到镇中心办社保卡，按时到场签到")
    zheng: dict[str, str] = {}

    async def zheng_books() -> None:
        zheng["code"] = await book(m, p9, "我想预约办社保卡")
    m.plan(on(8, 8, zheng_books, 5),
           on(8, 11, lambda: m.api("qinghe", f"/api/appointments/{zheng['code']}/checkin"), 30))

    p10 = m.persona("钱素芬（清河镇，预约未到）", "", "预约办老年证没有到场，被记为爽约")
    qian: dict[str, str] = {}

    async def qian_books() -> None:
        qian["code"] = await book(m, p10, "预约办老年证")
    m.plan(on(6, 8, qian_books, 20),
           on(6, 17, lambda: m.api("qinghe", f"/api/appointments/{qian['code']}/noshow")))

    p11 = m.persona("马占山（东村，预约居住证）", "绑定 东村", "预约了后天去镇中心办居住证")

    async def ma_books() -> None:
        await m.say(p11.openid, p11.bind)
        await book(m, p11, "想预约去镇里办居住证", day_choice="3")
    m.plan(on(0, 8, ma_books))

    p12 = m.persona("刘春燕（清河镇，已退订通知）", "", "代办独生子女父母光荣证补办；取消关注后，办结通知没能送达")
    liu: dict[str, str] = {}

    async def liu_asks() -> None:
        liu["case"] = await ask_proxy(m, p12, "独生子女父母光荣证丢了，能代办补办吗", "刘春燕", "13853109967",
                                      date(1979, 6, 30))

    async def liu_leaves() -> None:
        await m.say(p12.openid, "", kind="unsubscribe")

    async def liu_finished() -> None:
        m.fake.fail_next.append(43004)   # WeChat: the resident no longer follows the account
        await m.move(liu["case"], "completed", "光荣证已补办，请到镇中心民政窗口领取。")
    m.plan(on(16, 9, liu_asks),
           on(15, 10, lambda: m.move(liu["case"], "accepted")),
           on(10, 21, liu_leaves),
           on(3, 15, liu_finished))

    p13 = m.persona("黄立新（南街社区，刚提交）", "绑定 南街", "今天早上提交了残疾人补贴代办，等待受理")

    async def huang_asks() -> None:
        await applies(m, p13, "我儿子是重度残疾，护理补贴能请社区帮忙代办吗", "黄立新", "15905316678", date(1966, 2, 14))
    m.plan(on(0, 7, huang_asks, 40))

    for n, (name, village, request, applicant, phone, born, rating) in enumerate(ROUTINE):
        _routine(m, m.persona(f"{name}（{village or '清河镇'}，代办已办结）", f"绑定 {village}" if village else "",
                              f"请人代办，办结后评价：{rating}"), request, applicant, phone, born, rating,
                 start=20 - 2 * n)

    p14 = m.persona("曹文（清河镇，今天的预约）", "", "一早约了今天到镇中心办灵活就业参保")

    async def cao_books() -> None:
        await book(m, p14, "灵活就业社保参保想预约一下")
    m.plan(on(0, 7, cao_books, 15))

    p15 = m.persona("谢大爷（东村，要找工作人员）", "绑定 东村", "问了两遍机器人没弄明白，要求转人工，等了一刻钟还没人接")

    async def xie_asks() -> None:
        await m.say(p15.openid, p15.bind)
        await m.say(p15.openid, "我家老房子的宅基地证名字还是我爹的，要过户咋弄")
        await m.say(p15.openid, "说了半天还是不明白，找个工作人员跟我说")
        await m.timeouts(15)   # nobody free yet: he is told a clerk will write back
    m.plan(on(0, 9, xie_asks))

    _conversations(m)

    # residents who only asked: most answered, a few about things no guide covers
    askers = [m.persona(f"居民{n}（只问了问题）", "", "问过几个办事问题") for n in range(1, 9)]
    for days_ago in range(FIRST_DAY, 0, -1):
        for _ in range(m.rng.randint(1, 4)):
            who = m.rng.choice(askers)
            question = m.rng.choice(QUESTIONS)
            m.plan(Step(days_ago, m.rng.randint(7, 21), m.rng.randint(0, 59), False, _asking(m, who, question)))
    for i, question in enumerate(UNKNOWN_QUESTIONS):
        m.plan(Step(FIRST_DAY - 2 - i * 4, 20, 0, False, _asking(m, askers[i % len(askers)], question)))


def _conversations(m: Month) -> None:
    """Residents who asked for a person: each conversation is done within its step, so the app's
    own round of timeouts, running meanwhile, finds nothing of theirs to act on."""
    p = m.persona("宋桂芝（东村，转人工问宅基地过户）", "绑定 东村", "转人工问宅基地证过户，东村代办员解答后评了非常满意")

    async def song() -> None:
        await m.say(p.openid, p.bind)
        await m.say(p.openid, "老房子的宅基地证还是我公公的名字，想改成我家老头的，去哪办")
        await m.say(p.openid, "没看明白，转人工")
        await m.clerk_writes("dongcun", p.openid, "宋阿姨您好，我是东村服务站的小刘。宅基地证过户属于不动产继承登记，"
                                                  "在县不动产登记中心办。")
        await m.say(p.openid, "那要带我公公的死亡证明吗")
        handoff = await m.clerk_writes("dongcun", p.openid, "要带。还要户口簿、家里人都同意的继承证明（可以到司法所办公证），"
                                                            "您要是跑不动，可以把材料交到站里，我们帮您递。")
        await m.say(p.openid, "好的，明天我把材料拿过去，谢谢你")
        await m.closes("dongcun", handoff, p.openid, "5 讲得很清楚")
    m.plan(on(9, 10, song))

    p2 = m.persona("蒋卫东（西村，转人工后评了不满意）", "绑定 西村", "转人工问医保断缴，觉得没讲清楚，评了不满意，镇里正在回访")

    async def jiang() -> None:
        await m.say(p2.openid, p2.bind)
        await m.say(p2.openid, "我在外地交了两年医保，回来后断了三个月，还能补吗，找个人问问")
        await m.say(p2.openid, "转人工")
        handoff = await m.clerk_writes("xicun", p2.openid, "您好，断缴能不能补、补多少要看您外地的参保记录，"
                                                           "请带身份证到镇中心社保医保窗口查一下。")
        await m.say(p2.openid, "我就是想问能不能补，让我跑一趟才知道？")
        await m.clerk_writes("xicun", p2.openid, "抱歉，系统里看不到外地的记录，只能请您到窗口查。")
        await m.closes("xicun", handoff, p2.openid, "2 问了半天还是得自己跑")
    m.plan(on(4, 15, jiang))

    p3 = m.persona("韩玉珍（南街社区，晚上转人工）", "绑定 南街", "晚上九点转人工，机器人说了第二天几点上班，第二天一早工作人员回复")

    async def han_asks() -> None:
        await m.say(p3.openid, p3.bind)
        await m.say(p3.openid, "我妈的养老金这个月没到账，找个工作人员问问")
        await m.timeouts(20)

    async def han_answered() -> None:
        handoff = await m.clerk_writes("qinghe", p3.openid, "韩女士您好，昨晚的消息看到了。这个月养老金因为没做年度认证暂停了，"
                                                            "您在“掌上12333”给老人刷脸认证后，下个月会连同本月一起补发。")
        await m.say(p3.openid, "明白了，谢谢")
        await m.closes("qinghe", handoff, p3.openid, "非常满意")
    m.plan(on(2, 21, han_asks), on(1, 8, han_answered, 40))

    p4 = m.persona("杜师傅（北湾村，问完没再回）", "绑定 北湾", "转人工问农机补贴，工作人员回复后没再回话，半小时后自动结束")

    async def du() -> None:
        await m.say(p4.openid, p4.bind)
        await m.say(p4.openid, "买了台旋耕机，农机补贴怎么申请，能找个人说说吗")
        await m.say(p4.openid, "转人工")
        await m.clerk_writes("qinghe", p4.openid, "杜师傅您好，农机购置补贴要在购机后到镇农业农村窗口申请，"
                                                  "带身份证、发票和机具铭牌照片，您看什么时候方便过来？")
        await m.timeouts(35)
    m.plan(on(6, 14, du))


def _routine(m: Month, p: Persona, request: str, applicant: str, phone: str, born: date, rating: str, *,
             start: int) -> None:
    """A 代办 from request to rating, over a week or two of working days."""
    kept: dict[str, str] = {}

    async def asks() -> None:
        kept["case"] = await applies(m, p, request, applicant, phone, born)

    async def rates() -> None:
        thanks = await finish(m, p, kept["case"], "已办结，结果已按您选的方式告知。", rating)
        if (followup := re.search(r"回访编号 ([A-Z]\d{8}-\d{4})", thanks)) is not None:
            kept["followup"] = followup.group(1)

    async def followup_taken() -> None:
        if "followup" in kept:
            await m.move(kept["followup"], "accepted")
    hour = 8 + start % 9
    m.plan(on(start, hour, asks, 15), on(start - 1, 10, lambda: m.move(kept["case"], "accepted")),
           on(start - 2, 11, lambda: m.move(kept["case"], "in_progress", "材料齐全，已报上级部门办理。")),
           on(max(start - 9, 1), 15, rates), on(max(start - 10, 0), 10, followup_taken))


def _asking(m: Month, p: Persona, question: str) -> Callable[[], Awaitable[None]]:
    async def ask() -> None:
        await m.say(p.openid, question)
    return ask


async def seed_month(*, base: str, wechat_path: str, side: WeChatSide, clock: DemoClock, pusher: Pusher,
                     tokens: dict[str, str], fake: Any, watch: Callable[[], Awaitable[Any]],
                     data_dir: Path) -> list[Persona]:
    """Make the month, then release the clock; the personas are kept for the simulator. `watch`
    is the app's round of conversation timeouts (`bot.jobs.HandoffTimeouts.run`)."""
    async with aiohttp.ClientSession() as session:
        month = Month(base=base, wechat_path=wechat_path, side=side, session=session, clock=clock, pusher=pusher,
                      tokens=tokens, fake=fake, watch=watch)
        stories(month)
        try:
            await month.run()
        finally:
            clock.pinned = None
    (data_dir / PERSONAS_FILE).write_text(json.dumps([asdict(p) for p in month.personas], ensure_ascii=False,
                                                     indent=1), encoding="utf-8")
    return month.personas


def load_personas(data_dir: Path) -> list[dict[str, str]]:
    try:
        return json.loads((data_dir / PERSONAS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
