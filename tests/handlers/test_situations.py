"""Guides with situations (情形) through the real callback: a question that names its situation
hears that situation's list only; one that does not is asked which, by number or by words."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from bot.config import PROJECT_ROOT
from bot.knowledge.loader import load_knowledge
from bot.texts import Texts, fits, split_text
from handlers.faq import full_answer
from tests.handlers.test_proxy import VALID_ID


async def test_an_agreed_divorce_hears_the_divorce_list_and_never_the_wedding_declaration(bot):
    text = await bot.say("r1", "协议离婚要带什么")
    assert text.startswith("【婚姻登记·离婚登记】")
    assert "结婚证（原件2份）" in text and "离婚协议书（原件3份）" in text and "冷静期" in text
    assert "需要到现场2次" in text
    assert "签字声明" not in text and "双人合影" not in text and "视情况提供" not in text.split("近期2寸")[0]


async def test_a_wedding_hears_the_wedding_list(bot):
    text = await bot.say("r1", "结婚登记要带什么")
    assert text.startswith("【婚姻登记·结婚登记】")
    assert "无配偶以及与对方没有直系血亲和三代以内旁系血亲关系的签字声明（原件）" in text
    assert "离婚协议书" not in text and "户口簿" not in text.replace("不再需要户口簿", "")


async def test_a_question_naming_no_situation_is_asked_which_and_a_number_answers(bot):
    text = await bot.say("r1", "婚姻登记要带什么")
    assert "1. 结婚登记" in text and "2. 离婚登记" in text and "3. 补领婚姻登记证" in text and "回复数字" in text
    assert "材料（请一次带齐）" not in text
    picked = await bot.say("r1", "2")
    assert picked.startswith("【婚姻登记·离婚登记】") and "离婚协议书" in picked and "签字声明" not in picked
    later = await bot.say("r1", "多久能办好")
    assert later.startswith("【婚姻登记·离婚登记】") and "30日" in later
    assert "需要到现场2次" in await bot.say("r1", "要跑几次")
    materials = await bot.say("r1", "材料")
    assert "离婚协议书" in materials and "签字声明" not in materials


async def test_the_situation_can_be_picked_by_its_words_and_another_one_named_later(bot):
    await bot.say("r1", "婚姻登记怎么办")
    picked = await bot.say("r1", "我们是来领证的")
    assert picked.startswith("【婚姻登记·结婚登记】") and "签字声明" in picked
    turned = await bot.say("r1", "那离婚呢")
    assert turned.startswith("【婚姻登记·离婚登记】") and "签字声明" not in turned
    bring = await bot.say("r1", "结婚证要带吗")   # a thing to bring, not the situation 结婚
    assert bring.startswith("要的。【婚姻登记·离婚登记】") and "结婚证（原件2份，必须）" in bring


async def test_a_lost_disability_card_is_told_the_replacement(bot):
    text = await bot.say("r1", "残疾证丢了补办")
    assert text.startswith("【残疾人证办理·补办（遗失）】") and "声明作废" in text
    assert "残疾人证申请表" not in text and "居住证" not in text


async def test_a_leaving_word_during_the_choice_lets_go(bot):
    assert "2. 离婚登记" in await bot.say("r1", "婚姻登记要带什么")
    assert "已退出" in await bot.say("r1", "算了")
    assert await bot.store.dialogs.get("r1", bot.clock.now(), timedelta(minutes=30)) is None
    assert "【" not in await bot.say("r1", "2")   # no longer a choice


async def test_during_the_choice_a_new_question_is_answered_and_a_miss_asks_again(bot):
    await bot.say("r1", "残疾证怎么办")
    again = await bot.say("r1", "嗯嗯")
    assert "请回复列表里的数字" in again and "1. 新办（残疾评定）" in again
    place = await bot.say("r1", "在哪办")
    assert "残联窗口" in place and "请回复列表里的数字" in place   # asked alike for each; the choice stands
    other = await bot.say("r1", "老年证怎么办")
    assert other.startswith("【老年人优待证办理】")


async def test_a_proxy_request_after_a_situation_carries_it_into_the_case(bot):
    await bot.say("r1", "残疾证丢了补办")
    start = await bot.say("r1", "代办")
    assert "【残疾人证办理·补办（遗失）】可以代办" in start and "残疾人证申请表" not in start
    await bot.say("r1", "王秀英")
    await bot.say("r1", "13800001234")
    await bot.say("r1", VALID_ID)
    summary = await bot.say("r1", "不用")
    assert "事项：残疾人证办理（补办（遗失））" in summary
    await bot.say("r1", "确认")
    [case] = await bot.store.cases.list(centers=None, openid="r1")
    assert case.guide == "残疾人证办理" and case.data["situation"] == "补办（遗失）"


def test_every_situation_answer_tells_each_of_its_materials_in_messages_that_fit():
    service = SimpleNamespace(hotline="12345", name="测试")
    for guide in load_knowledge(PROJECT_ROOT / "knowledge").guides.values():
        for situation in guide.situations:
            told = guide.in_situation(situation.name)
            parts = split_text(full_answer(Texts(), service, told))
            assert len(parts) <= 2 and all(fits(p) for p in parts), told.title
            answer = "\n".join(parts)
            assert all(f"{i}. {m.name}（" in answer for i, m in enumerate(told.materials, 1)), told.title


async def test_what_differs_by_place_is_told_as_local_not_as_a_national_rule(bot):
    card = await bot.say("r1", "补社保卡要多少钱")
    assert card.startswith("【社会保障卡挂失与补换·补卡") and "各地不同" in card and "20元" not in card
    assessment = await bot.say("r2", "第一次办残疾证要钱吗")
    assert assessment.startswith("【残疾人证办理·新办") and "各地不同" in assessment and "多数地方" not in assessment
    moving = await bot.say("r3", "嫁过来了户口怎么迁到老公家")
    assert moving.startswith("【户口迁移·投靠亲属") and "各地不同" in moving and "多数情形" not in moving


async def test_a_situation_typed_in_pinyin_or_traditional_is_recognised(bot):
    assert (await bot.say("r1", "lihun yao dai shenme")).startswith("【婚姻登记·离婚登记】")
    assert (await bot.say("r2", "殘疾證丟了補辦")).startswith("【残疾人证办理·补办（遗失）】")
