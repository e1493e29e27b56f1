"""How fast, and with how little memory, hostile XML is refused by the callback protocol.

    .venv/bin/python bench/xml_guard.py

Runs `Protocol.open` on a "billion laughs" payload and an external-entity payload, in plain
and safe mode, and prints the time per refusal and the peak memory it took (tracemalloc).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.demo import demo_aes_key  # noqa: E402
from bot.wechat.protocol import Malformed, Protocol  # noqa: E402
from bot.wechat.simulator import WeChatSide  # noqa: E402

LAUGHS = "".join(f' <!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 "lol">\n' + LAUGHS + "]>\n"
                  "<xml><ToUserName>gh</ToUserName><FromUserName>x</FromUserName><CreateTime>1</CreateTime>"
                  "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>")
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       "<xml><ToUserName>gh</ToUserName><FromUserName>x</FromUserName><CreateTime>1</CreateTime>"
       "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>")
ROUNDS = 2000


def main() -> None:
    key = demo_aes_key("bench")
    for mode in ("plain", "safe"):
        protocol = Protocol(token="t", app_id="wxbench", encoding_aes_key=key, mode=mode,
                            max_body_bytes=65536, timestamp_window=300)
        side = WeChatSide(token="t", app_id="wxbench", encoding_aes_key=key, mode=mode)
        for name, payload in (("billion laughs", BILLION_LAUGHS), ("external entity", XXE)):
            query, body = side.seal(payload)
            tracemalloc.start()
            started = time.perf_counter()
            for _ in range(ROUNDS):
                try:
                    protocol.open(body, query)
                except Malformed:
                    pass
                else:
                    raise SystemExit(f"{name} was accepted in {mode} mode")
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{mode:>5} mode, {name:<15}: refused in {elapsed / ROUNDS * 1e6:7.1f} µs each, "
                  f"peak memory {peak / 1024:6.1f} KiB over {ROUNDS} refusals")


if __name__ == "__main__":
    main()
