"""A real `taskstream serve` process for tests that need one outside pytest's event loop (the schemathesis fuzz,
the kill -9 drill): on a free port, on a database of its own created on the test session's PostgreSQL, with a
known key pair. It can be killed with SIGKILL and started again on the same port and database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of `server_url`, dropped afterwards (even if a killed
    server left connections behind)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def run(sql: str) -> None:
        # In a thread of its own: callers may be inside a running event loop (async tests).
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, admin(sql)).result()

    run(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class ServeProcess:
    """`taskstream serve` on `database_url`; `start()` waits until it answers, `kill()` sends SIGKILL."""

    def __init__(self, database_url: str, home: Path, args: tuple[str, ...] = (), **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_key = "TS" + uuid.uuid4().hex[:20].upper()
        self.secret_key = uuid.uuid4().hex + uuid.uuid4().hex
        self.home = home
        self.args = args  # more `serve` options (`--workers 2`, `--log-format json`)
        self.log = home / "serve.log"
        self.env = {**os.environ, "TASKSTREAM_DATABASE_URL": database_url, "TASKSTREAM_HOME": str(home),
                    "TASKSTREAM_ACCESS_KEY": self.access_key, "TASKSTREAM_SECRET_KEY": self.secret_key, **env}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def auth(self) -> tuple[str, str]:
        return self.access_key, self.secret_key

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "taskstream.api.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 *self.args],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"taskstream serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/server.info", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"taskstream serve did not answer within {START_TIMEOUT} s:\n{self.log.read_text()}")

    def worker_pids(self) -> set[int]:
        """The live worker processes of `serve --workers N` (multiprocessing children, not its resource tracker)."""
        assert self.process is not None
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return set()
        pids = set()
        for child in children:
            try:
                if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    pids.add(child.pid)
            except psutil.NoSuchProcess:
                continue
        return pids

    def terminate(self) -> None:
        """SIGTERM: the graceful shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs; its database connections die with it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
