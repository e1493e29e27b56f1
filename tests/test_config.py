"""A wrong or missing configuration key stops start-up with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Config
from bot.errors import ConfigError

GOOD = {"wechat": {"app_id": "wx1", "app_secret": "s", "token": "t", "mode": "plain"}}


def test_example_config_loads_and_documents_every_key():
    config = Config.load(PROJECT_ROOT / "config.example.toml")
    assert config.wechat.mode == "safe"
    text = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    from bot.config import SCHEMA

    for section, keys in SCHEMA.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"\n{key} = " in text, f"[{section}] {key} is not documented"


@pytest.mark.parametrize("raw, named", [
    ({"wechat": {"app_id": "wx1", "app_secret": "s", "mode": "plain"}}, "[wechat] token: missing"),
    ({"wechat": {**GOOD["wechat"], "mode": "secret"}}, "[wechat] mode: expected one of"),
    ({**GOOD, "server": {"port": "8080"}}, "[server] port: expected an integer"),
    ({**GOOD, "server": {"port": 70000}}, "[server] port: expected a port number"),
    ({**GOOD, "server": {"prot": 8080}}, "[server] prot: unknown key"),
    ({**GOOD, "servre": {}}, "[servre]: unknown section"),
    ({"wechat": {**GOOD["wechat"], "mode": "safe"}}, "[wechat] encoding_aes_key: required"),
    ({"wechat": {**GOOD["wechat"], "encoding_aes_key": "short"}}, "[wechat] encoding_aes_key: expected 43"),
    ({**GOOD, "store": {"url": "mysql://x"}}, "[store] url: expected a URL"),
    ({**GOOD, "booking": {"remind_at": "4pm"}}, '[booking] remind_at: expected a time like "16:00"'),
    ({**GOOD, "booking": {"slot_minutes": 25}}, "[booking] slot_minutes: expected 10, 15, 20, 30 or 60"),
    ({**GOOD, "server": {"reply_deadline_seconds": True}}, "[server] reply_deadline_seconds: expected a number"),
    ({**GOOD, "knowledge": {"match_process": "yes"}}, '[knowledge] match_process: expected true, false or "auto"'),
    ({**GOOD, "knowledge": {"match_process": 1}}, '[knowledge] match_process: expected true, false or "auto"'),
])
def test_bad_key_is_named(raw, named):
    with pytest.raises(ConfigError) as e:
        Config.from_dict(raw)
    assert named in str(e.value)


def test_serve_with_bad_config_exits_with_the_key_named(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[wechat]\napp_id = "wx1"\napp_secret = "s"\ntoken = "t"\nmode = "loud"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--config", str(path)],
                            capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert result.returncode == 2
    assert "[wechat] mode" in result.stderr and "plain" in result.stderr


def test_broken_toml_names_the_file(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text("[wechat\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        Config.load(path)
    assert "config.toml" in str(e.value) and "not valid TOML" in str(e.value)


async def test_default_center_must_be_a_known_center(tmp_path):
    from bot.app import create_app

    raw = {**GOOD, "knowledge": {"dir": str(PROJECT_ROOT / "knowledge")}, "service": {"default_center": "atlantis"},
           "store": {"url": f"sqlite:///{tmp_path / 'fd.db'}"}}
    with pytest.raises(ConfigError, match=r"\[service\] default_center: 'atlantis'"):
        create_app(Config.from_dict(raw, base_dir=tmp_path))
