"""The official-account callback protocol, free of HTTP: verify, decrypt, parse, seal.

wechatpy does the signature arithmetic, the reply's encryption and parsing; this module adds
what it leaves to us: constant-time signature comparison, a timestamp window against replays, a
size cap and a guard against entity declarations before any XML parser sees the body, a strict
reading of the ciphertext (wechatpy checks neither its padding nor its length field, so a
corrupt one raised `struct.error`), and escaping of `]]>` in text we echo into CDATA.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
import xml.parsers.expat

import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from dataclasses import dataclass
from typing import Any, Mapping

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply as WxTextReply
from wechatpy.replies import TransferCustomerServiceReply
from wechatpy.utils import WeChatSigner

from bot.errors import FrontdeskError
from bot.messages import Inbound, from_wechat
from bot.replies import NoReply, Reply, TextReply, TransferToAgent


class CallbackRejected(FrontdeskError):
    """A callback we refuse; `status` is the HTTP status to answer with."""

    status = 400


class Forged(CallbackRejected):
    status = 403


class Stale(CallbackRejected):
    status = 403


class Replayed(Forged):
    """A signed (timestamp, nonce) seen before with another body."""


class TooLarge(CallbackRejected):
    status = 413


class Malformed(CallbackRejected):
    status = 400


# Any DTD in a message is refused before parsing: WeChat never sends one, and this is where
# entity expansion ("billion laughs") and external entities would come from.
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def _guard_xml(body: bytes) -> None:
    if _DTD.search(body):
        raise Malformed("document type declarations are not accepted")


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii"))


def cdata_safe(text: str) -> str:
    """Text to put inside <![CDATA[ ]]>: a literal `]]>` is split across two sections."""
    return text.replace("]]>", "]]]]><![CDATA[>")


@dataclass(frozen=True)
class Opened:
    """A verified, decrypted and parsed callback. `digest` (sha256 of the message's XML, after
    decryption, so a retry encrypted afresh is still the same) is set where the signature does
    not cover the body — plain and compatible mode, where an unencrypted message is accepted —
    and is to be remembered with (`timestamp`, `nonce`) against replays; in safe mode the
    msg_signature binds the body to the pair already."""

    message: Inbound
    encrypted: bool
    nonce: str
    timestamp: str
    digest: str | None = None


class Protocol:
    def __init__(self, *, token: str, app_id: str, encoding_aes_key: str, mode: str,
                 max_body_bytes: int, timestamp_window: int, now=time.time):
        self.token = token
        self.mode = mode
        self.max_body_bytes = max_body_bytes
        self.timestamp_window = timestamp_window
        self._now = now
        self._app_id = app_id
        self._crypto = WeChatCrypto(token, encoding_aes_key, app_id) if encoding_aes_key else None

    # -- checks shared by GET and POST ------------------------------------------------------

    def _check_signature(self, params: Mapping[str, str]) -> tuple[str, str]:
        signature = params.get("signature", "")
        timestamp = params.get("timestamp", "")
        nonce = params.get("nonce", "")
        if not signature or not timestamp or not nonce:
            raise Forged("signature, timestamp or nonce missing")
        if not _same(signature, sign(self.token, timestamp, nonce)):
            raise Forged("signature does not match")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise Forged("timestamp is not a number") from None
        if abs(self._now() - sent_at) > self.timestamp_window:
            raise Stale(f"timestamp {sent_at} outside the {self.timestamp_window}s window")
        return timestamp, nonce

    def verify_url(self, params: Mapping[str, str]) -> str:
        """URL verification: a correctly signed GET is answered with its echostr."""
        self._check_signature(params)
        return params.get("echostr", "")

    # -- inbound ----------------------------------------------------------------------------

    def open(self, body: bytes, params: Mapping[str, str]) -> Opened:
        if len(body) > self.max_body_bytes:
            raise TooLarge(f"body of {len(body)} bytes exceeds {self.max_body_bytes}")
        timestamp, nonce = self._check_signature(params)
        _guard_xml(body)
        encrypted = params.get("encrypt_type", "raw").lower() == "aes"
        if self.mode == "safe" and not encrypted:
            raise Malformed("safe mode expects encrypted messages")
        if encrypted and self._crypto is None:   # plain mode with a key decrypts (the account switched first)
            raise Malformed("an encrypted message, and no [wechat] encoding_aes_key to decrypt it with")
        if encrypted:
            xml = self._decrypt(body, params.get("msg_signature", ""), timestamp, nonce)
        else:
            xml = self._text(body)
        digest = hashlib.sha256(xml.encode("utf-8")).hexdigest() if self.mode != "safe" else None
        return Opened(message=self._parse(xml), encrypted=encrypted, nonce=nonce, timestamp=timestamp, digest=digest)

    @staticmethod
    def _text(body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("body is not UTF-8") from None

    def _decrypt(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        assert self._crypto is not None  # `open` refuses an encrypted message without a key
        encrypt = _outer_encrypt(self._text(body))
        if not msg_signature or not _same(msg_signature, sign(self.token, timestamp, nonce, encrypt)):
            raise Forged("msg_signature does not match")
        xml = _decrypt(self._crypto.key, self._app_id, encrypt)
        inner = xml.encode("utf-8")
        if len(inner) > self.max_body_bytes:
            raise TooLarge("decrypted message too large")
        _guard_xml(inner)
        return xml

    @staticmethod
    def _parse(xml: str) -> Inbound:
        try:
            parsed = parse_message(xml)
        except xml_errors() as e:
            raise Malformed(f"malformed XML: {type(e).__name__}: {e}") from None
        if parsed is None:
            raise Malformed("empty message")
        message = from_wechat(parsed)
        if not message.openid:
            raise Malformed("FromUserName missing")
        return message

    # -- outbound ---------------------------------------------------------------------------

    def seal(self, reply: Reply, message: Inbound, opened: Opened) -> str:
        """Render a reply as the XML WeChat expects, encrypted when the message was."""
        match reply:
            case TextReply(text=text):
                xml = WxTextReply(source=message.account, target=message.openid,
                                  content=cdata_safe(text)).render()
            case TransferToAgent():
                xml = TransferCustomerServiceReply(source=message.account, target=message.openid).render()
            case NoReply():
                return ""
            case _:
                raise TypeError(f"cannot render {reply!r}")
        if opened.encrypted:
            assert self._crypto is not None
            return self._crypto.encrypt_message(xml, opened.nonce, str(int(self._now())))
        return xml


def _decrypt(key: bytes, app_id: str, encrypt: str) -> str:
    """The XML in an <Encrypt> field, read strictly. WeChat encrypts with AES-256-CBC (IV: the
    key's first 16 bytes): 16 random bytes, the XML's length (4 bytes, network order), the XML,
    the app id, PKCS#7 padding to 32 bytes. Anything else is corrupt (Malformed); a well-formed
    message for another app id is Forged."""
    def corrupt(why: str) -> Malformed:
        return Malformed(f"encrypted payload could not be decrypted: {why}")

    try:
        sealed = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise corrupt("not base64") from None
    if not sealed or len(sealed) % 16:
        raise corrupt(f"{len(sealed)} bytes is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(sealed) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise corrupt("bad padding")
    content = plain[16:-pad]
    if len(content) < 4:
        raise corrupt("too short for its length field")
    length = int.from_bytes(content[:4], "big")
    if 4 + length > len(content):
        raise corrupt(f"length field {length} runs past the end")
    if not hmac.compare_digest(content[4 + length:], app_id.encode("utf-8")):
        raise Forged("message was encrypted for another app id")
    try:
        return content[4:4 + length].decode("utf-8")
    except UnicodeDecodeError:
        raise corrupt("message is not UTF-8") from None


def xml_errors() -> tuple[type[BaseException], ...]:
    """What wechatpy/xmltodict raise on bad XML or a message of the wrong shape."""
    return (xml.parsers.expat.ExpatError, KeyError, ValueError, TypeError, AttributeError)


def _outer_encrypt(text: str) -> str:
    """The <Encrypt> field of the outer envelope, parsed like any other XML."""
    try:
        outer: Any = xmltodict.parse(text)
    except (xml.parsers.expat.ExpatError, ValueError) as e:
        raise Malformed(f"malformed XML: {e}") from None
    node = outer.get("xml") if isinstance(outer, dict) else None
    encrypt = node.get("Encrypt") if isinstance(node, dict) else None
    if not isinstance(encrypt, str) or not encrypt:
        raise Malformed("Encrypt field missing")
    return encrypt
