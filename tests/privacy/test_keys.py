"""Personal data at rest: encrypted with keys from the environment, readable after a key
rotation done as the README says, and unreadable once the only key that sealed it is gone."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.config import PROJECT_ROOT
from bot.errors import ConfigError
from bot.store import Dialog, open_store
from bot.vault import ENV, SealBroken, Vault, new_key

NOW = FixedClock().now()
ID_NUMBER = "11010519491231002X"


def _cli(*args: str, keys: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, ENV: ",".join(keys)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=PROJECT_ROOT)


async def _fill(url: str, tmp_path, vault: Vault) -> str:
    store = await open_store(url, tmp_path, vault)
    try:
        case = await store.cases.create(kind="proxy", openid="o-1", guide="高龄津贴申领", center="qinghe-dongcun",
                                        data={"name": "王秀英", "phone": "13800001234", "id_number": ID_NUMBER},
                                        now=NOW, actor="resident")
        await store.dialogs.set("o-2", Dialog("proxy:id_number", {"phone": "13900005678"}), NOW)
        await store.inquiries.log(openid="o-3", question="回电 13700009999", intent="unknown", guide=None, score=None,
                                  decision="fallback", at=NOW)
        return case.number
    finally:
        await store.close()


async def _read(url: str, tmp_path, vault: Vault, number: str) -> tuple[dict, dict, str]:
    store = await open_store(url, tmp_path, vault)
    try:
        case = await store.cases.get(number)
        dialog = await store.dialogs.get("o-2", NOW, timedelta(hours=1))
        [asked] = await store.inquiries.of_resident("o-3", opened=True)
        return case.data, dialog.data, asked["contact"]
    finally:
        await store.close()


def test_keys_are_rotated_and_an_old_key_can_then_go(tmp_path, store_url):
    old, fresh = new_key(), new_key()
    number = asyncio.run(_fill(store_url, tmp_path, Vault([old])))
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "{store_url}"\n', encoding="utf-8")

    rotated = _cli("keys", "rotate", "--config", str(config), keys=[fresh, old])
    assert rotated.returncode == 0, rotated.stderr
    assert "1 cases and 1 dialogs" in rotated.stdout and "1 questions" in rotated.stdout

    case, dialog, contact = asyncio.run(_read(store_url, tmp_path, Vault([fresh]), number))   # the old key is gone
    assert (case["phone"], case["id_number"], dialog["phone"]) == ("13800001234", ID_NUMBER, "13900005678")
    assert contact == "13700009999"
    with pytest.raises(SealBroken):
        asyncio.run(_read(store_url, tmp_path, Vault([old]), number))


def test_a_missing_or_malformed_key_is_named():
    with pytest.raises(ConfigError, match=ENV):
        Vault.from_env({})
    with pytest.raises(ConfigError, match="frontdesk keys new"):
        Vault(["not-a-key"])
    made = _cli("keys", "new", keys=[])
    assert made.returncode == 0 and Vault([made.stdout.strip().splitlines()[-1]])


def test_between_a_key_change_and_the_rotation_a_case_is_found_by_the_whole_phone(tmp_path, store_url):
    old, fresh = new_key(), new_key()
    number = asyncio.run(_fill(store_url, tmp_path, Vault([old])))

    async def search(vault: Vault) -> list[str]:
        store = await open_store(store_url, tmp_path, vault)
        try:
            return [c.number for c in await store.cases.list(centers=None, search="13800001234")]
        finally:
            await store.close()

    assert asyncio.run(search(Vault([fresh, old]))) == [number]   # new key first, old one still listed


def test_an_export_names_what_no_key_opens_and_goes_on(tmp_path, store_url):
    lost, kept = new_key(), new_key()
    asyncio.run(_fill(store_url, tmp_path, Vault([lost])))
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "{store_url}"\n', encoding="utf-8")
    done = _cli("resident", "export", "--config", str(config), "o-1", keys=[kept])
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "could not be opened" in done.stderr and "phone" in done.stderr and "id_number" in done.stderr
    exported = json.loads(done.stdout)
    [case] = exported["cases"]
    assert case["data"]["phone"] is None and case["data"]["name"] == "王秀英"
    assert any("phone" in line for line in exported["unreadable"])
