"""A throw-away PostgreSQL for the tests: Debian's server binaries, its own data folder, a free
port on 127.0.0.1, settings for speed rather than durability; stopped and removed at the end.

`make test` installs Debian's `postgresql` when `pg_ctl` is missing and sets
FRONTDESK_REQUIRE_POSTGRES=1, so there a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg

from tests.support import free_port


def pg_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs, the newest version if several."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


class ThrowawayPostgres:
    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
        self.data = self.folder / "data"
        # PostgreSQL refuses to run as root: as root, run it as Debian's postgres user
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.as_user, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")

    def start(self) -> "ThrowawayPostgres":
        if self.as_user:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                  "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start the same server (a fault test: connections drop, data stays)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-m", "fast",
                  "-w", "restart")

    @staticmethod
    def schema_name() -> str:
        return "t_" + uuid.uuid4().hex[:12]

    def url_for(self, schema: str) -> str:
        """A store URL whose tables live in `schema` (asyncpg passes search_path to the server)."""
        return f"{self.url}?search_path={schema}"

    def create_schema(self) -> str:
        return asyncio.run(self.new_schema())

    async def new_schema(self) -> str:
        name = self.schema_name()
        await self._sql(f"CREATE SCHEMA {name}")
        return name

    def drop_schema(self, name: str) -> None:
        """Drop a test's schema. A connection still open on it — a bot not yet closed, caught
        mid-statement while its loop waits for this teardown — would hold a lock the DROP waits
        for forever, and the run would hang: after a few seconds the other connections to this
        throw-away server are ended and the DROP is made again."""
        asyncio.run(self._drop(name))

    async def _drop(self, name: str) -> None:
        drop = f"DROP SCHEMA IF EXISTS {name} CASCADE"
        try:
            await self._sql(f"SET lock_timeout = '5s'; {drop}")
        except asyncpg.LockNotAvailableError:
            await self._sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            f"WHERE pid <> pg_backend_pid() AND datname = current_database(); {drop}")

    async def _sql(self, statement: str) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()
