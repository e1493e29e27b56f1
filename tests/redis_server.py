"""A throw-away Redis for the tests: Debian's redis-server on a free port of 127.0.0.1, nothing
saved to disk, stopped at the end. `make test` installs it when missing and sets
FRONTDESK_REQUIRE_REDIS=1, so there a missing server fails the run instead of skipping."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from tests.support import free_port, stop


class ThrowawayRedis:
    def __init__(self, program: str):
        self.program = program
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def find() -> str | None:
        return shutil.which("redis-server")

    def start(self) -> "ThrowawayRedis":
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None
