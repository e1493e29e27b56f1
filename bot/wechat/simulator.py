"""WeChat's side of the callback, for the chat simulator, the tests and the benchmark.

Builds messages as WeChat's servers send them — XML, signed, and in compatible or safe mode
encrypted with wechatpy — and opens the replies the same way WeChat would.
"""

from __future__ import annotations

import itertools
import random
import re
import string
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.wechat.protocol import cdata_safe, sign

_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


def _cdata(value: str) -> str:
    return f"<![CDATA[{cdata_safe(value)}]]>"


def message_xml(openid: str, account: str, msg_type: str, *, create_time: int | None = None,
                msg_id: int | None = None, **fields: Any) -> str:
    """An inbound message as WeChat writes it. `fields` are extra tags (Content, Event, …)."""
    create_time = create_time if create_time is not None else int(time.time())
    parts = [f"<ToUserName>{_cdata(account)}</ToUserName>", f"<FromUserName>{_cdata(openid)}</FromUserName>",
             f"<CreateTime>{create_time}</CreateTime>", f"<MsgType>{_cdata(msg_type)}</MsgType>"]
    for tag, value in fields.items():
        if isinstance(value, (int, float)):
            parts.append(f"<{tag}>{value}</{tag}>")
        else:
            parts.append(f"<{tag}>{_cdata(str(value))}</{tag}>")
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id if msg_id is not None else next(_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text_xml(openid: str, content: str, account: str = "gh_frontdesk", **kw: Any) -> str:
    return message_xml(openid, account, "text", Content=content, **kw)


def voice_xml(openid: str, recognition: str, account: str = "gh_frontdesk", **kw: Any) -> str:
    return message_xml(openid, account, "voice", MediaId="media-1", Format="amr", Recognition=recognition, **kw)


def event_xml(openid: str, event: str, account: str = "gh_frontdesk", **kw: Any) -> str:
    return message_xml(openid, account, "event", Event=event, **kw)


@dataclass
class WeChatSide:
    """Signs (and encrypts) callbacks for one official account, as WeChat's servers do."""

    token: str
    app_id: str
    encoding_aes_key: str = ""
    mode: str = "safe"
    now: Any = field(default=time.time)
    # WeChat's own record of what the resident did (a fake API's `heard`), told of every message
    # sealed here: what it allows the account to send decides what WeChat's API accepts
    heard: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.crypto = WeChatCrypto(self.token, self.encoding_aes_key, self.app_id) if self.encoding_aes_key else None

    @staticmethod
    def nonce() -> str:
        return "".join(random.choices(string.digits, k=10))

    def sign_query(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(self.now()))
        nonce = nonce or self.nonce()
        return {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    def seal(self, xml: str, timestamp: str | None = None, nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of the POST WeChat would make for this message."""
        query = self.sign_query(timestamp, nonce)
        query["openid"] = _openid_of(xml)
        if self.heard is not None:
            self.heard(xml)
        if self.mode == "plain":
            return query, xml.encode("utf-8")
        assert self.crypto is not None
        envelope = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        parsed = xmltodict.parse(envelope)["xml"]
        query.update(encrypt_type="aes", msg_signature=parsed["MsgSignature"])
        if self.mode == "safe":
            body = f"<xml><ToUserName>{_cdata(_account_of(xml))}</ToUserName><Encrypt>{_cdata(parsed['Encrypt'])}</Encrypt></xml>"
        else:  # compatible: the plaintext fields and the encrypted copy side by side
            body = xml.replace("</xml>", f"<Encrypt>{_cdata(parsed['Encrypt'])}</Encrypt></xml>")
        return query, body.encode("utf-8")

    def open_reply(self, body: str) -> dict[str, Any] | None:
        """The reply as a dict of its XML fields (decrypted when encrypted); None when empty."""
        if not body or body == "success":
            return None
        data = xmltodict.parse(body)["xml"]
        if "Encrypt" in data:
            assert self.crypto is not None
            expected = sign(self.token, data["TimeStamp"], data["Nonce"], data["Encrypt"])
            if expected != data["MsgSignature"]:
                raise ValueError("reply signature does not match")
            plain = self.crypto.decrypt_message(body, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
            data = xmltodict.parse(plain)["xml"]
        return data


def _field(xml: str, tag: str) -> str:
    """A field read without an XML parser, so hostile test payloads can be sealed too."""
    m = re.search(rf"<{tag}>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</{tag}>", xml, re.DOTALL)
    return (m.group(1) or m.group(2) or "") if m else ""


def _openid_of(xml: str) -> str:
    return _field(xml, "FromUserName")


def _account_of(xml: str) -> str:
    return _field(xml, "ToUserName")
