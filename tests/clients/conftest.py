"""Fixtures for the real ClearML clients: their own virtualenv, a real `taskstream serve` subprocess, and a
runner that executes client code in a child process pointed at that server (clients.md §1, §7).

The virtualenv (`.venv-clients/` at the repository root, gitignored) is created once and reused: a marker file
holds the pinned requirements it was built with, so a pin change rebuilds it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENTS_VENV = REPO / ".venv-clients"
PINS = ("clearml==2.1.12", "clearml-agent==3.0.3")
INSTALL_TIMEOUT = 900
START_TIMEOUT = 60


def _venv_python() -> Path:
    return CLIENTS_VENV / "bin" / "python"


@pytest.fixture(scope="session")
def clients_python() -> Path:
    """The python of a virtualenv with the pinned clearml and clearml-agent (built on first use, then reused)."""
    marker = CLIENTS_VENV / ".pins"
    wanted = "\n".join(PINS)
    if marker.exists() and marker.read_text() == wanted and _venv_python().exists():
        return _venv_python()
    shutil.rmtree(CLIENTS_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(CLIENTS_VENV)], check=True, timeout=120)
    subprocess.run([str(_venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS],
                   check=True, timeout=INSTALL_TIMEOUT)
    marker.write_text(wanted)
    return _venv_python()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running `taskstream serve`, its admin key pair, and what it printed at start."""

    url: str
    access_key: str
    secret_key: str
    output: Path

    def call(self, endpoint: str, **body: Any) -> Any:
        """`data` of a successful call with the admin key pair (Basic auth); raises AssertionError otherwise."""
        token = base64.b64encode(f"{self.access_key}:{self.secret_key}".encode()).decode()
        response = httpx.post(f"{self.url}/{endpoint}", json=body, headers={"Authorization": f"Basic {token}"},
                              timeout=30)
        meta = response.json()["meta"]
        assert meta["result_code"] == 200, f"{endpoint}: {meta['result_code']}/{meta['result_subcode']} " \
                                           f"{meta['result_msg']}"
        return response.json()["data"]

    def printed(self) -> str:
        return self.output.read_text()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"taskstream serve exited with {process.returncode}:\n{output.read_text()}")
        try:
            if httpx.get(f"{url}/server.info", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"taskstream serve did not answer within {START_TIMEOUT} s:\n{output.read_text()}")


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`taskstream serve` on a free port, on the test session's PostgreSQL, with a fresh admin key pair."""
    home = tmp_path_factory.mktemp("taskstream-serve")
    port = _free_port()
    access_key, secret_key = "TS" + uuid.uuid4().hex[:20].upper(), uuid.uuid4().hex + uuid.uuid4().hex
    env = {**os.environ, "TASKSTREAM_DATABASE_URL": database_url, "TASKSTREAM_ACCESS_KEY": access_key,
           "TASKSTREAM_SECRET_KEY": secret_key, "TASKSTREAM_HOME": str(home),
           # No in-process audit subscriber or watchdog: this server shares the test session's database, and a
           # subscriber writing behind other tests' backs makes their read-model checks race with it.
           "TASKSTREAM_SUBSCRIBERS": ""}
    output = home / "serve.log"
    with output.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "taskstream.api.cli", "serve", "--host", "127.0.0.1",
                                    "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, output)
        yield Server(url, access_key, secret_key, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class ClientRun:
    returncode: int
    stdout: str
    stderr: str

    def result(self) -> Any:
        """The JSON the script printed last (scripts print `RESULT <json>`)."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("RESULT ")]
        assert lines, f"no RESULT line (exit {self.returncode})\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        return json.loads(lines[-1][len("RESULT "):])


@dataclass
class Clients:
    """Runs client code in a child process of the clients' virtualenv, pointed at the server."""

    python: Path
    server: Server
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        config = self.home / "clearml.conf"
        config.touch()
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home), "LANG": "C.UTF-8",
                "CLEARML_API_HOST": self.server.url, "CLEARML_WEB_HOST": self.server.url,
                "CLEARML_FILES_HOST": f"{self.server.url}/files", "CLEARML_API_ACCESS_KEY": self.server.access_key,
                "CLEARML_API_SECRET_KEY": self.server.secret_key, "CLEARML_CONFIG_FILE": str(config),
                "CLEARML_CACHE_DIR": str(self.home / "cache"),
                "PYTHONUNBUFFERED": "1"}
        return {**base, **extra}

    def run(self, script: str, *, timeout: float = 120, env: dict[str, str] | None = None,
            name: str = "client_script.py") -> ClientRun:
        """Run `script` (dedented) as a file in a fresh directory; fails the test on timeout."""
        workdir = self.home / uuid.uuid4().hex[:8]
        workdir.mkdir()
        path = workdir / name
        path.write_text(textwrap.dedent(script))
        return self.command([str(self.python), str(path)], cwd=workdir, timeout=timeout, env=env)

    def command(self, argv: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> ClientRun:
        try:
            done = subprocess.run(argv, cwd=cwd, env=env or self.env(), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{argv} timed out after {timeout} s\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}")
        return ClientRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def clients(clients_python: Path, server: Server, tmp_path: Path) -> Clients:
    return Clients(clients_python, server, tmp_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed client test shows the tail of its server's log (warnings and unhandled errors) beside the SDK's
    output: the SDK often swallows the reason a call failed."""
    outcome = yield
    report = outcome.get_result()
    clients = getattr(item, "funcargs", {}).get("clients")
    if report.when == "call" and report.failed and isinstance(clients, Clients):
        try:
            tail = clients.server.output.read_text(errors="replace")[-6000:]
        except OSError:
            return
        report.sections.append(("taskstream serve log (tail)", tail))
