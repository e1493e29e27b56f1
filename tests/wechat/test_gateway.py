"""The callback as WeChat uses it: verification, the three modes, and every bad input refused."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest

from bot.wechat.protocol import sign
from bot.wechat.simulator import WeChatSide, event_xml, text_xml
from tests.conftest import AES_KEY, APP_ID, TOKEN
from tests.support import notices_to
from tests.wechat.ciphertexts import encrypt_raw, frame, signed_envelope

QUESTION = "老年人优待证怎么办"


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_question_is_answered_in_every_mode(start_bot, mode):
    bot = await start_bot(mode=mode)
    resp = await bot.post(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    assert resp.status == 200
    body = await resp.text()
    assert ("<Encrypt>" in body) == (mode != "plain")  # replies are encrypted when the message was
    reply = bot.side.open_reply(body)
    assert reply["ToUserName"] == "resident-1"
    assert "老年人优待证" in reply["Content"] and "居民身份证" in reply["Content"]


@pytest.mark.parametrize("sent_as", ["safe", "compatible"])
async def test_plain_mode_with_a_key_answers_an_encrypted_message_encrypted(start_bot, sent_as):
    """The account was switched to 安全模式 (or 兼容模式) before the server's config: messages
    keep being answered, each as WeChat expects for it."""
    bot = await start_bot(mode="plain")
    wechat = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode=sent_as, now=bot.clock.timestamp)
    query, body = wechat.seal(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    resp = await bot.client.post("/wechat", params=query, data=body)
    assert resp.status == 200
    text = await resp.text()
    assert "<Encrypt>" in text and QUESTION not in text
    reply = wechat.open_reply(text)
    assert reply["ToUserName"] == "resident-1" and "居民身份证" in reply["Content"]
    forged = {**query, "msg_signature": "f" * 40}   # the body's signature is still checked
    resp = await bot.client.post("/wechat", params=forged, data=body)
    assert resp.status == 403


async def test_plain_mode_without_a_key_refuses_an_encrypted_message_clearly(start_bot, caplog):
    bot = await start_bot(mode="plain", wechat={"encoding_aes_key": ""})
    wechat = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode="safe", now=bot.clock.timestamp)
    query, body = wechat.seal(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    resp = await bot.client.post("/wechat", params=query, data=body)
    assert resp.status == 400
    assert "encoding_aes_key" in caplog.text
    assert await bot.store.residents.get("resident-1") is None


async def test_url_verification_echoes_only_when_signed(bot):
    query = bot.side.sign_query()
    resp = await bot.client.get("/wechat", params={**query, "echostr": "hello-123"})
    assert resp.status == 200 and await resp.text() == "hello-123"
    forged = {**query, "signature": "0" * 40, "echostr": "hello-123"}
    resp = await bot.client.get("/wechat", params=forged)
    assert resp.status == 403 and "hello-123" not in await resp.text()


async def _inquiries(bot) -> int:
    row = await bot.store.fetchone("SELECT count(*) AS n FROM inquiries")
    return row["n"]


@pytest.mark.parametrize("tamper", ["signature", "msg_signature", "missing"])
async def test_forged_callback_is_refused_without_side_effect(bot, tamper):
    query, body = bot.side.seal(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    if tamper == "missing":
        query = {k: v for k, v in query.items() if k not in ("signature", "msg_signature")}
    else:
        query[tamper] = "f" * 40
    resp = await bot.client.post("/wechat", params=query, data=body)
    assert resp.status == 403
    assert await _inquiries(bot) == 0
    assert await bot.store.residents.get("resident-1") is None


async def test_old_timestamp_is_refused_as_replay(bot):
    stale = str(int(bot.clock.timestamp()) - 301)
    query, body = bot.side.seal(text_xml("resident-1", QUESTION), timestamp=stale)
    resp = await bot.client.post("/wechat", params=query, data=body)
    assert resp.status == 403
    assert await _inquiries(bot) == 0


async def _count(bot, table: str) -> int:
    return (await bot.store.fetchone(f"SELECT count(*) AS n FROM {table}"))["n"]


@pytest.mark.parametrize("mode, sent_as", [("plain", "plain"), ("compatible", "compatible"), ("plain", "safe")])
async def test_a_captured_callback_url_cannot_carry_another_body(start_bot, mode, sent_as):
    """In plain and compatible mode the signature covers only token, timestamp and nonce: the
    URL of one resident's message, sent again inside the window with another body, must not act
    as another resident."""
    bot = await start_bot(mode=mode)
    wechat = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode=sent_as, now=bot.clock.timestamp)
    now = int(bot.clock.timestamp())
    query, body = wechat.seal(text_xml("resident-1", QUESTION, create_time=now))
    assert (await bot.client.post("/wechat", params=query, data=body)).status == 200
    captured = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
    for other in ("查进度", "绑定 西村"):
        bot.clock.advance(seconds=30)
        forged = text_xml("resident-2", other, create_time=int(bot.clock.timestamp())).encode()
        resp = await bot.client.post("/wechat", params={**captured, "openid": "resident-2"}, data=forged)
        assert resp.status == 403
    assert await bot.store.residents.get("resident-2") is None
    assert (await _count(bot, "inquiries"), await _count(bot, "processed_messages")) == (1, 1)


async def test_with_redis_the_nonces_of_callbacks_are_kept_there(start_bot, redis_server):
    bot = await start_bot(mode="plain", redis={"url": redis_server.url})
    query, body = bot.side.seal(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    assert (await bot.client.post("/wechat", params=query, data=body)).status == 200
    forged = text_xml("resident-2", "查进度", create_time=int(bot.clock.timestamp())).encode()
    assert (await bot.client.post("/wechat", params=query, data=forged)).status == 403
    assert await bot.store.state.client.exists(f"frontdesk:nonce:{query['timestamp']}:{query['nonce']}")
    assert await _count(bot, "callback_nonces") == 0
    assert await bot.store.residents.get("resident-2") is None


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_wechats_retry_of_the_same_callback_gets_the_first_reply(start_bot, mode):
    bot = await start_bot(mode=mode)
    query, body = bot.side.seal(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    first = await bot.client.post("/wechat", params=query, data=body)
    bot.clock.advance(seconds=5)   # WeChat retries after five seconds with the same URL and body
    again = await bot.client.post("/wechat", params=query, data=body)
    assert first.status == again.status == 200
    assert bot.side.open_reply(await first.text())["Content"] == bot.side.open_reply(await again.text())["Content"]
    assert await _count(bot, "inquiries") == 1
    # safe mode: msg_signature binds the body to its (timestamp, nonce), so nothing is written for it
    assert await _count(bot, "callback_nonces") == (0 if mode == "safe" else 1)


@pytest.mark.parametrize("mode", ["plain", "compatible"])
async def test_a_retry_encrypted_afresh_is_still_wechats_retry(start_bot, mode):
    """What is compared is the message, not its ciphertext, which differs with every encryption."""
    bot = await start_bot(mode=mode)
    wechat = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode="compatible", now=bot.clock.timestamp)
    xml = text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp()))
    query, body = wechat.seal(xml)
    again_query, again_body = wechat.seal(xml, timestamp=query["timestamp"], nonce=query["nonce"])
    assert again_body != body
    first = await bot.client.post("/wechat", params=query, data=body)
    again = await bot.client.post("/wechat", params=again_query, data=again_body)
    assert first.status == again.status == 200
    assert wechat.open_reply(await first.text())["Content"] == wechat.open_reply(await again.text())["Content"]
    assert await _count(bot, "inquiries") == 1


async def test_a_store_that_cannot_check_the_nonce_refuses_with_503_and_a_log_line(start_bot, monkeypatch, caplog):
    bot = await start_bot(mode="plain")

    async def broken(*args):
        raise ConnectionError("database went away")

    monkeypatch.setattr(bot.store.nonces, "admit", broken)
    resp = await bot.post(text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())))
    assert resp.status == 503
    assert "database went away" in caplog.text
    assert await bot.store.residents.get("resident-1") is None


async def test_remembered_nonces_are_forgotten_once_their_window_has_passed(start_bot, clock):
    bot = await start_bot(mode="plain", server={"timestamp_window_seconds": 1})   # the purge runs every window
    nonces, keep = bot.store.nonces, timedelta(seconds=2)
    await nonces.admit("1795500000", "old", "digest-a", clock.now() - timedelta(minutes=10), keep)
    await nonces.admit("1795500600", "new", "digest-a", clock.now(), keep)
    for _ in range(250):
        if await nonces.digest_of("1795500000", "old") is None:
            break
        await asyncio.sleep(0.02)
    assert await nonces.digest_of("1795500000", "old") is None
    assert await nonces.digest_of("1795500600", "new") == "digest-a"


async def test_body_over_the_limit_is_413(start_bot):
    bot = await start_bot(mode="plain", server={"max_body_bytes": 4096})
    big = text_xml("resident-1", "低保" * 3000, create_time=int(bot.clock.timestamp()))
    resp = await bot.post(big)
    assert resp.status == 413
    assert await _inquiries(bot) == 0


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_malformed_xml_is_400_and_logged(start_bot, mode, caplog):
    bot = await start_bot(mode=mode)
    query = bot.side.sign_query()
    if mode == "safe":
        query.update(encrypt_type="aes", msg_signature="x")
    resp = await bot.client.post("/wechat", params=query, data=b"<xml><ToUserName>oops</xml")
    assert resp.status == 400
    assert "callback refused (400)" in caplog.text


def _corrupt(kind: str, xml: bytes) -> str:
    """A ciphertext, correctly encrypted with our key where it is encrypted at all, that does not
    hold a well-formed message."""
    whole = frame(xml, APP_ID)
    count = whole[-1]
    match kind:
        case "zero-padding":      # decrypts to zeros: the padding byte says 0
            return encrypt_raw(AES_KEY, bytes(64))
        case "too-short":         # no room for the length field
            return encrypt_raw(AES_KEY, bytes(range(16)) + b"\x00\x00" + bytes([14]) * 14)
        case "wrong-padding":     # the last byte disagrees with the padding before it
            return encrypt_raw(AES_KEY, whole[:-1] + bytes([count - 1 if count > 1 else 2]))
        case "length-beyond":     # the length field points past the end
            return encrypt_raw(AES_KEY, frame(xml, APP_ID, length=len(xml) + 200))
        case "truncated-block":   # a block cut short
            return base64.b64encode(base64.b64decode(encrypt_raw(AES_KEY, whole))[:-5]).decode()
        case "random-bytes":      # valid base64 of bytes nobody encrypted
            return base64.b64encode(bytes(range(7, 7 + 48))).decode()
        case "not-base64":
            return "这不是密文!!"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["zero-padding", "too-short", "wrong-padding", "length-beyond", "truncated-block",
                                  "random-bytes", "not-base64"])
async def test_a_signed_but_corrupt_ciphertext_is_400_and_logged(bot, kind, caplog):
    xml = text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())).encode()
    query, body = signed_envelope(bot.side, _corrupt(kind, xml))
    resp = await bot.client.post("/wechat", params=query, data=body)
    assert resp.status == 400
    assert "callback refused (400)" in caplog.text and "could not be decrypted" in caplog.text
    assert await _inquiries(bot) == 0
    assert await bot.store.residents.get("resident-1") is None


async def test_a_well_formed_ciphertext_for_another_account_is_403(bot):
    xml = text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp())).encode()
    query, body = signed_envelope(bot.side, encrypt_raw(AES_KEY, frame(xml, "wxsomeoneelse00001")))
    resp = await bot.client.post("/wechat", params=query, data=body)
    assert resp.status == 403
    assert await bot.store.residents.get("resident-1") is None


async def test_message_without_type_is_400(start_bot):
    bot = await start_bot(mode="plain")
    resp = await bot.post("<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName></xml>")
    assert resp.status == 400


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>attacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>attacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
async def test_entity_payloads_are_refused(start_bot, mode, payload):
    """Refused before any parser sees them (time and memory: bench/xml_guard.py)."""
    bot = await start_bot(mode=mode)
    resp = await bot.post(payload)  # in safe mode the payload travels encrypted, as an attacker with the key would send it
    assert resp.status == 400
    assert "passwd" not in await resp.text() and "root:" not in await resp.text()
    assert await bot.store.residents.get("attacker") is None


async def test_retry_gets_the_same_reply_and_is_handled_once(bot):
    xml = text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp()), msg_id=777001)
    first = await bot.send(xml)
    second = await bot.send(xml)  # WeChat re-sends with the same MsgId
    assert first["Content"] == second["Content"]
    assert await _inquiries(bot) == 1


async def test_event_retry_is_recognised_by_sender_and_time(bot):
    xml = event_xml("resident-9", "subscribe", create_time=int(bot.clock.timestamp()))
    first = await bot.send(xml)
    second = await bot.send(xml)
    assert first["Content"] == second["Content"]
    row = await bot.store.fetchone("SELECT count(*) AS n FROM processed_messages WHERE openid='resident-9'")
    assert row["n"] == 1


@pytest.mark.parametrize("with_redis", [False, True], ids=["store", "redis"])
async def test_two_residents_whose_messages_share_a_msgid_each_get_their_own_answer(start_bot, request, with_redis):
    """MsgId is unique per sender only: one resident's message is never taken for a retry of another's."""
    overrides = {"redis": {"url": request.getfixturevalue("redis_server").url}} if with_redis else {}
    bot = await start_bot(**overrides)
    at = int(bot.clock.timestamp())
    first = await bot.send(text_xml("resident-1", QUESTION, create_time=at, msg_id=777100))
    second = await bot.send(text_xml("resident-2", "转人工", create_time=at, msg_id=777100))
    assert "居民身份证" in first["Content"] and second["ToUserName"] == "resident-2"
    assert "工作人员" in second["Content"] and "居民身份证" not in second["Content"]
    assert [w["openid"] for w in await bot.store.handoffs.waiting()] == ["resident-2"]
    again = await bot.send(text_xml("resident-2", "转人工", create_time=at, msg_id=777100))   # WeChat retries
    assert again["Content"] == second["Content"] and len(await bot.store.handoffs.waiting()) == 1


async def test_two_menu_clicks_in_one_second_are_two_clicks(bot):
    at = int(bot.clock.timestamp())
    hours = await bot.send(event_xml("resident-1", "CLICK", EventKey="MENU_CENTERS", create_time=at))
    person = await bot.send(event_xml("resident-1", "CLICK", EventKey="MENU_HANDOFF", create_time=at))
    assert "【清河镇便民服务中心】" in hours["Content"]
    assert "已为您转给" in person["Content"] and "【清河镇便民服务中心】" not in person["Content"]
    assert len(await bot.store.handoffs.waiting()) == 1
    retried = await bot.send(event_xml("resident-1", "CLICK", EventKey="MENU_HANDOFF", create_time=at))
    assert retried["Content"] == person["Content"] and len(await bot.store.handoffs.waiting()) == 1


async def test_concurrent_retries_run_the_handler_once(bot):
    xml = text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp()), msg_id=777002)
    replies = await asyncio.gather(*(bot.send(xml) for _ in range(3)))
    assert len({r["Content"] for r in replies}) == 1
    assert await _inquiries(bot) == 1


async def test_slow_answer_is_acknowledged_then_pushed(start_bot, monkeypatch):
    bot = await start_bot(server={"reply_deadline_seconds": 0.2})
    from bot.store.repos import Inquiries

    real_log = Inquiries.log

    async def slow_log(self, **kwargs):
        await asyncio.sleep(0.6)  # a slow store, longer than the deadline
        await real_log(self, **kwargs)

    monkeypatch.setattr(Inquiries, "log", slow_log)
    reply = await bot.send(text_xml("resident-slow", QUESTION, create_time=int(bot.clock.timestamp())))
    assert "请稍等" in reply["Content"]
    assert not bot.fake.texts_to("resident-slow")
    for _ in range(100):
        if bot.fake.texts_to("resident-slow"):
            break
        await asyncio.sleep(0.05)
    pushed = bot.fake.texts_to("resident-slow")
    assert len(pushed) == 1 and "老年人优待证" in pushed[0] and "居民身份证" in pushed[0]


async def test_question_whose_worker_died_after_please_wait_is_answered_by_push_once(start_bot):
    from bot.app import DESK
    from bot.messages import Text, to_json
    from bot.replies import TextReply

    bot = await start_bot(mode="plain")
    asked = Text(openid="resident-died", account="gh_frontdesk", create_time=int(bot.clock.timestamp()),
                 msg_id=777004, content=QUESTION)
    bot.fake.resident_acted(asked.openid, "message")   # WeChat delivered it: 5 customer-service messages allowed
    # a worker claimed it, kept it (encrypted) and told the resident 请稍等, then died
    await bot.store.messages.claim(asked.dedup_key, asked.openid, bot.clock.now(),
                                   bot.store.vault.seal(to_json(asked)))
    await bot.store.messages.answered(asked.dedup_key, TextReply("请稍等").to_json(), final=False)
    desk = bot.app[DESK]
    assert await desk.finish_unanswered() == 0   # its claim is fresh: the worker may be alive
    bot.clock.advance(seconds=12)
    assert await desk.finish_unanswered() == 1
    bot.clock.advance(seconds=12)
    assert await desk.finish_unanswered() == 0   # answered once
    pushed = await notices_to(bot, "resident-died", 1)
    await asyncio.sleep(0.3)
    assert len(bot.fake.texts_to("resident-died")) == 1 and "居民身份证" in pushed[0]
    assert await _inquiries(bot) == 1


async def test_a_kept_message_no_key_opens_is_given_up_once_not_retried_for_ever(start_bot):
    from bot.app import DESK

    bot = await start_bot(mode="plain")
    await bot.store.messages.claim("msg:resident-lost:1", "resident-lost", bot.clock.now(),
                                   "enc:gAAAAABsealed-under-a-key-since-removed")
    bot.clock.advance(seconds=12)
    assert await bot.app[DESK].finish_unanswered() == 0
    assert await bot.store.messages.unfinished(bot.clock.now() + timedelta(days=1)) == []


async def test_user_text_cannot_break_out_of_cdata(start_bot):
    bot = await start_bot(mode="plain")
    reply = await bot.send(text_xml("resident-1", "]]><MsgType>news</MsgType>你好", create_time=int(bot.clock.timestamp())))
    assert reply["MsgType"] == "text"


async def test_signature_helper_matches_wechat_rule():
    # sha1 of the sorted concatenation, as WeChat documents it
    import hashlib

    assert sign("t", "2", "1") == hashlib.sha1(b"12t").hexdigest()


async def test_retry_of_a_message_lost_with_a_crashed_process_is_answered(bot):
    # the first delivery was claimed, then the process died before answering
    await bot.store.messages.claim("msg:resident-1:777003", "resident-1", bot.clock.now())
    bot.clock.advance(seconds=12)  # WeChat's last retry comes about 15 s after the first try
    xml = text_xml("resident-1", QUESTION, create_time=int(bot.clock.timestamp()) - 12, msg_id=777003)
    reply = await bot.send(xml)
    assert "居民身份证" in reply["Content"]
    assert await _inquiries(bot) == 1
