"""A backup taken while the store is in use is restored exactly, on both backends, through the
commands an operator runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from bot.clock import FixedClock
from bot.config import PROJECT_ROOT
from bot.store import open_store
from bot.vault import Vault

NOW = FixedClock().now()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=PROJECT_ROOT, env=dict(os.environ))


async def _open_case(url, folder, openid: str) -> str:
    store = await open_store(url, folder, Vault.from_env())
    try:
        case = await store.cases.create(kind="proxy", openid=openid, guide="高龄津贴申领", center="qinghe-dongcun",
                                        data={"name": "王秀英", "phone": "13800001234"}, now=NOW, actor="resident")
        return case.number
    finally:
        await store.close()


async def _cases(url, folder) -> list[tuple[str, str]]:
    store = await open_store(url, folder, Vault.from_env())
    try:
        return [(c.number, c.data["phone"]) for c in await store.cases.list(centers=None)]
    finally:
        await store.close()


def test_backup_and_restore(tmp_path, store_url):
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "{store_url}"\n', encoding="utf-8")
    kept = asyncio.run(_open_case(store_url, tmp_path, "o-before"))
    taken = _cli("backup", "--config", str(config), "--to", str(tmp_path / "backups" / "store.backup"))
    assert taken.returncode == 0, taken.stderr
    # only its owner may read it: names and case details are in clear in a backup
    assert (tmp_path / "backups" / "store.backup").stat().st_mode & 0o777 == 0o600
    later = asyncio.run(_open_case(store_url, tmp_path, "o-after"))
    assert {n for n, _ in asyncio.run(_cases(store_url, tmp_path))} == {kept, later}

    put_back = _cli("restore", "--config", str(config), "--from", str(tmp_path / "backups" / "store.backup"))
    assert put_back.returncode == 0, put_back.stderr
    assert asyncio.run(_cases(store_url, tmp_path)) == [(kept, "13800001234")]   # as it was, still readable
    missing = _cli("restore", "--config", str(config), "--from", str(tmp_path / "nothing.backup"))
    assert missing.returncode == 1 and "no backup" in missing.stderr


def test_a_backup_written_over_a_readable_file_is_made_private(tmp_path):
    config, url = tmp_path / "config.toml", f"sqlite:///{tmp_path / 'fd.db'}"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      f'[store]\nurl = "{url}"\n', encoding="utf-8")
    asyncio.run(_open_case(url, tmp_path, "o-private"))
    old = tmp_path / "yesterday.backup"
    old.write_bytes(b"")
    old.chmod(0o644)
    assert _cli("backup", "--config", str(config), "--to", str(old)).returncode == 0
    assert old.stat().st_mode & 0o777 == 0o600


def test_a_sqlite_restore_waits_for_the_server_to_stop(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[wechat]\napp_id = "wx"\napp_secret = "s"\ntoken = "t"\nmode = "plain"\n'
                      '[store]\nurl = "sqlite:///fd.db"\n[server]\npid_file = "fd.pid"\n', encoding="utf-8")
    asyncio.run(_open_case(f"sqlite:///{tmp_path / 'fd.db'}", tmp_path, "o-1"))
    assert _cli("backup", "--config", str(config), "--to", str(tmp_path / "b.db")).returncode == 0
    (tmp_path / "fd.pid").write_text(f"{os.getpid()}\n")   # a live process holds the pid file
    refused = _cli("restore", "--config", str(config), "--from", str(tmp_path / "b.db"))
    assert refused.returncode == 1 and "stop it before restoring" in refused.stderr
