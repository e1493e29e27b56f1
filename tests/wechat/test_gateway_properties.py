"""Property-based tests of the callback (hypothesis): whatever arrives — any query string, any
body, any encoding, any XML shape, any ciphertext, signed or not — the answer is never a 500, and
what is refused changes nothing in the store."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from bot.app import STORE, create_app
from bot.clock import FixedClock
from bot.wechat.simulator import WeChatSide, text_xml
from tests.conftest import AES_KEY, APP_ID, TOKEN, make_config
from tests.wechat.ciphertexts import encrypt_raw, frame, signed_envelope

TABLES = ("processed_messages", "inquiries", "outbox", "dialogs", "cases", "handoffs", "handoff_messages", "bookings",
          "residents", "callback_nonces")
FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "EventKey",
          "Recognition", "Location_X", "Location_Y", "Label", "PicUrl", "MediaId", "Encrypt")
KINDS = ("text", "voice", "event", "location", "image", "link", "video", "shortvideo", "file", "")
ODD_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    ["]]>", "<![CDATA[", "&amp;", "\x00", "1" * 40, "subscribe", "CLICK", "转人工", "😀" * 30, "-1", "1e309"])


class Callback:
    """A real app on a test config, driven from synchronous hypothesis examples."""

    def __init__(self, folder: Path, mode: str):
        self.loop = asyncio.new_event_loop()
        clock = FixedClock()
        config = make_config(folder, "http://127.0.0.1:9", mode)
        self.client = TestClient(TestServer(create_app(config, clock=clock)), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())
        self.side = WeChatSide(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY, mode=mode, now=clock.timestamp)
        self.message = text_xml("resident-fuzz", "老年人优待证怎么办", create_time=int(clock.timestamp())).encode()

    def post(self, query: dict[str, str], body: bytes) -> tuple[int, dict[str, int], dict[str, int]]:
        async def run():
            before = await self.counts()
            resp = await self.client.post("/wechat", params=query, data=body)
            await resp.read()
            return resp.status, before, await self.counts()
        return self.loop.run_until_complete(run())

    async def counts(self) -> dict[str, int]:
        store = self.client.server.app[STORE]
        return {t: (await store.fetchone(f"SELECT count(*) AS n FROM {t}"))["n"] for t in TABLES}

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module", params=["safe", "plain"])
def callback(request, tmp_path_factory):
    made = Callback(tmp_path_factory.mktemp(f"callback-{request.param}"), request.param)
    yield made
    made.close()


@st.composite
def xml_shapes(draw) -> str:
    """Documents shaped like WeChat's, and not: fields missing, repeated, nested, odd text."""
    fields = draw(st.lists(st.sampled_from(FIELDS), max_size=8))
    parts = []
    for name in fields:
        value = draw(st.sampled_from(KINDS) if name == "MsgType" else ODD_TEXT)
        wrap = draw(st.sampled_from(["cdata", "plain", "nested"]))
        if wrap == "cdata":
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
        elif wrap == "nested":
            parts.append(f"<{name}><{name}>{value}</{name}></{name}>")
        else:
            parts.append(f"<{name}>{value}</{name}>")
    root = draw(st.sampled_from(["xml", "XML", "root", ""]))
    return f"<{root}>{''.join(parts)}</{root}>" if root else "".join(parts)


QUERIES = st.dictionaries(st.sampled_from(["signature", "timestamp", "nonce", "msg_signature", "encrypt_type",
                                           "openid", "echostr"]) | st.text(max_size=8), ODD_TEXT, max_size=6)
BODIES = st.binary(max_size=2048) | ODD_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")) | xml_shapes().map(
    lambda x: x.encode("utf-8", "surrogatepass")) | xml_shapes().map(lambda x: x.encode("gb18030", "replace"))
FEW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FEW
@given(query=QUERIES, body=BODIES)
def test_a_forged_callback_is_refused_and_changes_nothing(callback, query, body):
    status, before, after = callback.post(query, body)
    assert status in (400, 403, 413), status
    assert before == after


@FEW
@given(xml=xml_shapes())
def test_a_signed_message_of_any_shape_never_breaks_the_callback(callback, xml):
    query, body = callback.side.seal(xml)
    status, before, after = callback.post(query, body)
    assert status in (200, 400), status
    event(f"status {status}")
    if status == 400:
        assert before == after   # refused as malformed: nothing was taken in


def _strict_padding(plain: bytes) -> bool:
    pad = plain[-1]
    return 1 <= pad <= 32 and plain[-pad:] == bytes([pad]) * pad


@st.composite
def corrupt_ciphertexts(draw, message: bytes) -> str:
    """What our key could have encrypted but is no message: random bytes, a real message cut
    short, a real message with wrong padding or a length field running past its end."""
    kind = draw(st.sampled_from(["random", "truncated", "padding", "length"]))
    event(kind)
    whole = frame(message, APP_ID)
    if kind == "random":
        return base64.b64encode(draw(st.binary(max_size=256))).decode()
    if kind == "truncated":
        sealed = base64.b64decode(encrypt_raw(AES_KEY, whole))
        return base64.b64encode(sealed[:draw(st.integers(0, len(sealed) - 1))]).decode()
    if kind == "padding":
        body = whole[:-whole[-1]]
        size = draw(st.sampled_from([n for n in range(1, 33) if (len(body) + n) % 16 == 0]))
        plain = body + draw(st.binary(min_size=size, max_size=size))
        assume(not _strict_padding(plain))
        return encrypt_raw(AES_KEY, plain)
    length = draw(st.integers(len(message) + len(APP_ID) + 1, 2**32 - 1))
    return encrypt_raw(AES_KEY, frame(message, APP_ID, length=length))


@FEW
@given(data=st.data())
def test_a_signed_corrupt_ciphertext_is_400_and_changes_nothing(callback, data):
    encrypt = data.draw(corrupt_ciphertexts(callback.message))
    status, before, after = callback.post(*signed_envelope(callback.side, encrypt))
    assert status == 400, status
    assert before == after


@FEW
@given(plain=st.binary(max_size=200), length=st.integers(0, 2**32 - 1), tail=st.binary(max_size=24))
def test_any_plaintext_under_our_key_never_breaks_the_callback(callback, plain, length, tail):
    """Whatever the framing inside a correctly encrypted and signed envelope says — any length
    field, any bytes, any app id — the answer is a refusal or a reply, never a 500."""
    framed = bytes(16) + length.to_bytes(4, "big") + plain + tail
    framed += bytes([32 - len(framed) % 32]) * (32 - len(framed) % 32)
    status, before, after = callback.post(*signed_envelope(callback.side, encrypt_raw(AES_KEY, framed)))
    assert status in (200, 400, 403), status
    event(f"status {status}")
    if status != 200:
        assert before == after
