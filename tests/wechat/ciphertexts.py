"""Encrypted callbacks that are correctly signed but whose ciphertext is broken: what a buggy
proxy, a truncated upload or someone holding the token (not the key) would send.

WeChat's envelope is AES-256-CBC (key = the decoded EncodingAESKey, IV = its first 16 bytes)
over: 16 random bytes, the XML's length (4 bytes, network order), the XML, the app id, PKCS#7
padding to a multiple of 32 bytes.
"""

from __future__ import annotations

import base64
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wechat.protocol import sign
from bot.wechat.simulator import WeChatSide


def aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def encrypt_raw(encoding_aes_key: str, plaintext: bytes) -> str:
    """`plaintext` (a multiple of 16 bytes) encrypted as WeChat does, without any framing."""
    key = aes_key(encoding_aes_key)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plaintext) + encryptor.finalize()).decode("ascii")


def frame(xml: bytes, app_id: str, *, length: int | None = None, padding: bytes | None = None) -> bytes:
    """The plaintext WeChat encrypts; `length` and `padding` override the true ones."""
    body = os.urandom(16) + struct.pack(">I", len(xml) if length is None else length) + xml + app_id.encode()
    if padding is None:
        count = 32 - len(body) % 32
        padding = bytes([count]) * count
    return body + padding


def signed_envelope(side: WeChatSide, encrypt: str, account: str = "gh_frontdesk") -> tuple[dict[str, str], bytes]:
    """Query and body of a safe-mode POST carrying `encrypt`, with a msg_signature that matches it."""
    query = side.sign_query()
    query.update(encrypt_type="aes", msg_signature=sign(side.token, query["timestamp"], query["nonce"], encrypt))
    body = f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return query, body.encode("utf-8")
