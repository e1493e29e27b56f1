"""Backups of the store, and restoring one: `frontdesk backup --to FILE`, `frontdesk restore
--from FILE`.

- SQLite: the online backup API copies a consistent snapshot while the server keeps running.
  Restoring replaces the database file, so the server must be stopped first (refused otherwise).
- PostgreSQL: `pg_dump --format=custom` of the store's database (or of its schema, when the URL
  names a `search_path`), and `pg_restore --clean` back into it; the workers may keep running,
  though residents writing meanwhile would see the restore undo their last minutes.
Personal data stays encrypted in a backup: restoring it needs the keys of `FRONTDESK_DATA_KEYS`.
Names, addresses and what residents asked are in clear in it, though, so a backup is written for
its owner's eyes only (mode 0600), also over an older file that others could read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from bot.config import Config
from bot.errors import FrontdeskError


class BackupError(FrontdeskError):
    """A backup or restore that could not be done; the message says why."""


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return str(found)


def _pg_target(url: str) -> tuple[str, list[str]]:
    """The URL as libpq reads it, and the schema to limit to, if the URL names one."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query).get("search_path", [""])[0]
    return urlunsplit(parts._replace(query="")), ["--schema", schema] if schema else []


def _server_running(config: Config) -> int | None:
    pid_file = config.resolve(config.server.pid_file)
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _private(path: Path) -> None:
    """`path` made (or emptied) as a file only its owner may read or write."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def backup(config: Config, to: Path) -> Path:
    url = config.store.url
    to.parent.mkdir(parents=True, exist_ok=True)
    _private(to)
    if url.startswith("sqlite:///"):
        source = config.sqlite_path
        if not source.exists():
            raise BackupError(f"no database at {source}")
        with sqlite3.connect(source) as src, sqlite3.connect(to) as dest:
            src.backup(dest)
        return to
    target, schema = _pg_target(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", *schema, "--file", str(to), target])
    return to


def restore(config: Config, source: Path) -> None:
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    url = config.store.url
    if url.startswith("sqlite:///"):
        if (pid := _server_running(config)) is not None:
            raise BackupError(f"the server (pid {pid}) is running: stop it before restoring its database")
        with sqlite3.connect(source) as check:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not a sound SQLite database")
        dest = config.sqlite_path
        for leftover in (Path(f"{dest}-wal"), Path(f"{dest}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(source, dest)
        return
    target, schema = _pg_target(url)
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction", *schema,
          "--dbname", target, str(source)])
