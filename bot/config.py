"""Configuration from TOML, validated once at start-up.

Every key is declared below with its type, default and check; `config.example.toml`
documents each one. A missing, unknown or wrong key raises `ConfigError` naming the key
(`[wechat] mode`) and what is expected, so start-up stops with a message a person can act on.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUIRED = object()
NOTICE_PARTS = ("number", "matter", "status", "time", "content")   # what a template message can say of a notice


@dataclass(frozen=True)
class Key:
    kind: type | tuple[type, ...]
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None  # returns what is expected, or None if fine


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else "one of " + ", ".join(f'"{c}"' for c in choices)


def _positive(v: Any) -> str | None:
    return None if v > 0 else "a number greater than 0"


def _port(v: Any) -> str | None:
    return None if 0 <= v <= 65535 else "a port number between 0 and 65535"


def _not_negative(v: Any) -> str | None:
    return None if v >= 0 else "0 or a greater number"


def _hhmm(v: Any) -> str | None:
    return None if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v) else 'a time like "16:00"'


def _slot_minutes(v: Any) -> str | None:
    return None if v in (10, 15, 20, 30, 60) else "10, 15, 20, 30 or 60 minutes"


def _on_off_auto(v: Any) -> str | None:
    return None if isinstance(v, bool) or v == "auto" else KIND_NAMES[(bool, str)]


def _store_url(v: Any) -> str | None:
    ok = v.startswith(("sqlite:///", "postgresql://", "postgres://"))
    return None if ok else 'a URL like "sqlite:///data/frontdesk.db" or "postgresql://frontdesk@db-host/frontdesk"'


def _path_start(v: Any) -> str | None:
    return None if v.startswith("/") else 'a path starting with "/"'


def _aes_key(v: Any) -> str | None:
    ok = v == "" or re.fullmatch(r"[A-Za-z0-9+/]{43}", v)
    return None if ok else "43 letters and digits, as the official account's settings page shows it"


def _template_id(v: Any) -> str | None:
    ok = v == "" or re.fullmatch(r"[A-Za-z0-9_-]{1,128}", v)
    return None if ok else "the 模板ID as the official account's 模板消息 page shows it (letters, digits, - and _)"


def _template_field(v: Any) -> str | None:
    ok = v == "" or re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", v)
    return None if ok else 'empty, or a template field\'s name as in its {{name.DATA}}, like "thing2" or "keyword1"'


SCHEMA: dict[str, dict[str, Key]] = {
    "server": {
        "host": Key(str, "127.0.0.1"),
        "port": Key(int, 8080, _port),
        "wechat_path": Key(str, "/wechat", _path_start),
        "max_body_bytes": Key(int, 65536, _positive),
        "timestamp_window_seconds": Key(int, 300, _positive),
        "reply_deadline_seconds": Key((int, float), 4.0, _positive),
        "pid_file": Key(str, "data/frontdesk.pid"),
    },
    "wechat": {
        "app_id": Key(str),
        "app_secret": Key(str),
        "token": Key(str),
        "encoding_aes_key": Key(str, "", _aes_key),
        "mode": Key(str, "safe", _one_of("plain", "compatible", "safe")),
        "api_base": Key(str, "https://api.weixin.qq.com"),
        "api_timeout_seconds": Key((int, float), 5.0, _positive),
        "notice_template_id": Key(str, "", _template_id),
        # the template's fields the notice fills (empty: a field the template does not have)
        "notice_field_number": Key(str, "", _template_field),
        "notice_field_matter": Key(str, "", _template_field),
        "notice_field_status": Key(str, "", _template_field),
        "notice_field_time": Key(str, "", _template_field),
        "notice_field_content": Key(str, "content", _template_field),
    },
    "store": {
        "url": Key(str, "sqlite:///data/frontdesk.db", _store_url),
    },
    "knowledge": {
        "dir": Key(str, "knowledge"),
        "match_process": Key((bool, str), "auto", _on_off_auto),
    },
    "dialog": {
        "idle_timeout_minutes": Key(int, 30, _positive),
        "max_messages_per_minute": Key(int, 30, _positive),
    },
    "service": {
        "name": Key(str, "便民服务中心"),
        "hotline": Key(str, "12345"),
        "default_center": Key(str, "town-center"),
        "complaint_reply_days": Key(int, 5, _positive),
    },
    "booking": {
        "slot_minutes": Key(int, 30, _slot_minutes),
        "horizon_workdays": Key(int, 7, _positive),
        "min_lead_minutes": Key(int, 60, _not_negative),
        "max_active": Key(int, 3, _positive),
        "remind_days_before": Key(int, 1, _not_negative),
        "remind_at": Key(str, "16:00", _hhmm),
        "reminder_check_seconds": Key(int, 60, _positive),
        "no_show_limit": Key(int, 2, _not_negative),
        "no_show_lookback_days": Key(int, 90, _positive),
        "no_show_pause_days": Key(int, 30, _positive),
    },
    "console": {
        "secure_cookie": Key(bool, True),
        "session_idle_minutes": Key(int, 60, _positive),
        "session_max_hours": Key(int, 12, _positive),
        "lockout_failures": Key(int, 5, _positive),
        "lockout_minutes": Key(int, 15, _positive),
    },
    "redis": {
        "url": Key(str, "", lambda v: None if v == "" or v.startswith(("redis://", "rediss://", "unix://"))
                   else 'empty, or a URL like "redis://127.0.0.1:6379/0"'),
        "timeout_seconds": Key((int, float), 1.0, _positive),
    },
    "retention": {
        "inquiries_days": Key(int, 180, _positive),
        "closed_cases_days": Key(int, 1095, _positive),
        "bookings_days": Key(int, 365, _positive),
        "notices_days": Key(int, 90, _positive),
        "check_hours": Key(int, 6, _positive),
    },
    "handoff": {
        "mode": Key(str, "callback", _one_of("callback", "wechat_kf")),
        "wait_minutes": Key(int, 10, _positive),
        "idle_minutes": Key(int, 30, _positive),
    },
    "log": {
        "level": Key(str, "INFO", _one_of("DEBUG", "INFO", "WARNING", "ERROR")),
    },
}

KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
              (bool, str): 'true, false or "auto"'}


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if kind in KIND_NAMES:
        return KIND_NAMES[kind]
    return "a number" if isinstance(kind, tuple) else kind.__name__


def _validate(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section in raw:
        if section not in SCHEMA:
            raise ConfigError(f"[{section}]: unknown section; known sections are {', '.join(SCHEMA)}")
        if not isinstance(raw[section], dict):
            raise ConfigError(f"[{section}]: expected a table of keys")
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        for name in given:
            if name not in keys:
                raise ConfigError(f"[{section}] {name}: unknown key; known keys are {', '.join(keys)}")
        values: dict[str, Any] = {}
        for name, key in keys.items():
            if name not in given:
                if key.default is REQUIRED:
                    raise ConfigError(f"[{section}] {name}: missing; expected {_kind_name(key.kind)}")
                values[name] = key.default
                continue
            value = given[name]
            is_bool = isinstance(value, bool)
            bool_ok = key.kind is bool or (isinstance(key.kind, tuple) and bool in key.kind)
            if not isinstance(value, key.kind) or (is_bool and not bool_ok):
                raise ConfigError(f"[{section}] {name}: expected {_kind_name(key.kind)}, got {value!r}")
            if key.check and (expected := key.check(value)):
                raise ConfigError(f"[{section}] {name}: expected {expected}, got {value!r}")
            values[name] = value
        out[section] = values
    wechat = out["wechat"]
    if wechat["mode"] != "plain" and not wechat["encoding_aes_key"]:
        raise ConfigError(f'[wechat] encoding_aes_key: required in "{wechat["mode"]}" mode; expected 43 letters and digits')
    fields = [wechat[f"notice_field_{part}"] for part in NOTICE_PARTS if wechat[f"notice_field_{part}"]]
    if len(set(fields)) < len(fields):
        twice = next(f for f in fields if fields.count(f) > 1)
        raise ConfigError(f"[wechat] notice_field_*: {twice!r} is named for two parts of the notice; "
                          "expected each template field once")
    if wechat["notice_template_id"] and not fields:
        raise ConfigError("[wechat] notice_field_content: expected at least one template field for the notice, "
                          "got none")
    return out


class Section:
    """Read-only attribute access to one validated section."""

    def __init__(self, name: str, values: dict[str, Any]):
        self._name = name
        self.__dict__.update(values)

    def __repr__(self) -> str:
        shown = {k: ("***" if "secret" in k or k in ("token", "encoding_aes_key") else v)
                 for k, v in self.__dict__.items() if not k.startswith("_")}
        return f"[{self._name}] {shown}"


@dataclass(frozen=True)
class Config:
    server: Section
    wechat: Section
    store: Section
    knowledge: Section
    dialog: Section
    service: Section
    booking: Section
    console: Section
    redis: Section
    retention: Section
    handoff: Section
    log: Section
    base_dir: Path

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base_dir: Path | None = None) -> "Config":
        values = _validate(raw)
        return cls(base_dir=base_dir or Path.cwd(), **{s: Section(s, v) for s, v in values.items()})

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        path = Path(path)
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        try:
            return cls.from_dict(raw, base_dir=path.resolve().parent)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None

    def resolve(self, relative: str) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def sqlite_path(self) -> Path:
        return self.resolve(self.store.url.removeprefix("sqlite:///"))

    @property
    def knowledge_dir(self) -> Path:
        return self.resolve(self.knowledge.dir)
