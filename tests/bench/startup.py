"""`make serve` to the first answered request, warm (issue 13): `taskstream serve` on an embedded PostgreSQL whose
data directory exists already (a first, unmeasured start creates it), from spawning the process to the first HTTP
200 of `/health/ready` (database up, migrations applied). Reference, measured in the same run: the time of
`python -c "import fastapi, asyncpg"` plus the embedded PostgreSQL's own start on the same data directory (the
wheel's server started and stopped by itself, `pg-start` below). Target: ≤ 3× the reference. Best of 3 each.

``python -m tests.bench.startup pg-start HOME`` starts and stops the embedded PostgreSQL of HOME and prints the
seconds its start took.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import summary
from .http_client import Connection
from .processes import ServerProcess, free_port

TARGET_RATIO = 3.0
RUNS = 3
REPO = Path(__file__).resolve().parents[2]


async def _until_ready(process: ServerProcess, port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.exited():
            raise RuntimeError(f"taskstream serve exited:\n{process.log_tail()}")
        connection = Connection("127.0.0.1", port)
        try:
            if (await connection.get("/health/ready")).status == 200:
                return
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            connection.close()
        await asyncio.sleep(0.01)
    raise RuntimeError(f"taskstream serve not ready after {timeout:.0f} s:\n{process.log_tail()}")


async def _serve_once(home: Path, log: Path) -> float:
    """Seconds from spawning `taskstream serve` to its first ready answer; the server is stopped after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
    argv = [str(Path(sys.executable).parent / "taskstream"), "--home", str(home), "serve", "--host", "127.0.0.1",
            "--port", str(port)]
    began = time.perf_counter()
    process = ServerProcess("serve", argv, env, log, REPO)
    try:
        await _until_ready(process, port)
        return time.perf_counter() - began
    finally:
        process.stop(30)


def _timed(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - began


def _pg_start(home: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "tests.bench.startup", "pg-start", str(home)], check=True,
                         capture_output=True, text=True, cwd=REPO)
    return float(out.stdout.split()[-1])


async def run_startup_bench() -> None:
    """Measure and print both sides; records the summary line."""
    with tempfile.TemporaryDirectory(prefix="taskstream-startup-") as work:
        home, log = Path(work) / "home", Path(work) / "serve.log"
        await _serve_once(home, log)  # cold: initdb, migrations, key pair; not measured
        serve = min([await _serve_once(home, log) for _ in range(RUNS)])
        imports = min(_timed([sys.executable, "-c", "import fastapi, asyncpg"]) for _ in range(RUNS))
        postgres = min(_pg_start(home) for _ in range(RUNS))
    reference = imports + postgres
    ratio = summary.ratio(serve, reference)
    print(f"\nmake serve to first answered request, warm: {serve:.2f} s; reference: import fastapi, asyncpg "
          f"{imports:.2f} s + embedded PostgreSQL start {postgres:.2f} s = {reference:.2f} s; ratio {ratio:.2f}")
    summary.record("serve start, warm", f"{serve:.2f} s", f"imports {imports:.2f} + PG start {postgres:.2f} s",
                   ratio, f"<= {TARGET_RATIO:g}x", ratio <= TARGET_RATIO)


def pg_start(home: Path) -> float:
    """Start the embedded PostgreSQL of `home` (created by `taskstream serve`), stop it; seconds the start took."""
    from taskstream.api.database import load_passwords
    from taskstream.api.embedded_server import start_server
    from taskstream.commands.database_roles import SUPERUSER

    os.environ.setdefault("XDG_RUNTIME_DIR", str(home / "run"))
    password = load_passwords(home / "database-passwords.json")[SUPERUSER]
    began = time.perf_counter()
    server = start_server(home / "pgdata", SUPERUSER, password)
    elapsed = time.perf_counter() - began
    server.cleanup()
    return elapsed


if __name__ == "__main__" and sys.argv[1:2] == ["pg-start"]:
    print(f"{pg_start(Path(sys.argv[2])):.4f}")
