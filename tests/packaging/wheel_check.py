"""The wheel as a user installs it (`make wheel-check`, run by CI).

Builds the sdist and from it the wheel of this checkout, installs the wheel (not editable) into a bare
virtual environment outside the repository, and checks that it holds every module and data file of the
four code folders and nothing but `taskstream*` at the top of site-packages. Then, from a directory that is
not the checkout (so the working folders cannot stand in for the installed ones), it runs `taskstream
--help` and `taskstream serve` on a fresh home, makes one authenticated call, stops the server with SIGTERM
and expects a clean exit.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("api", "commands", "projections", "schemas")


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], check=True,
                   stdout=subprocess.DEVNULL)
    return next(out.glob("taskstream-*.whl"))


def expected_files() -> set[str]:
    """`taskstream/<folder>/...` for every tracked file of the code folders."""
    tracked = subprocess.run(["git", "ls-files", *FOLDERS], cwd=REPO, check=True, capture_output=True, text=True)
    return {f"taskstream/{name}" for name in tracked.stdout.split()}


def check_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = expected_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)}"
    tops = {name.split("/")[0] for name in names}
    stray = {top for top in tops if not top.startswith("taskstream")}
    assert not stray, f"the wheel installs {sorted(stray)} at the top of site-packages"
    print(f"wheel {wheel.name}: {len(names)} files, top level {sorted(tops)}")


def install(wheel: Path, venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], check=True)
    return venv / "bin" / "taskstream"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, key: str, secret: str) -> dict[str, object]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    request = urllib.request.Request(f"{url}/tasks.get_all", data=b"{}", method="POST",
                                     headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def serve_smoke(taskstream: Path, workdir: Path) -> None:
    port, url = free_port(), ""
    key, secret = "WHEELCHECKKEY0000001", "wheel-check-secret-0123456789abcdef"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")},
           "TASKSTREAM_ACCESS_KEY": key, "TASKSTREAM_SECRET_KEY": secret}
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen([str(taskstream), "serve", "--home", str(workdir / "home"), "--port", str(port)],
                               cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            answer = _first_answer(url, key, secret, process)
        except AssertionError:
            log.flush()
            print((workdir / "serve.log").read_text(), file=sys.stderr)
            raise
        assert answer["meta"]["result_code"] == 200, answer  # type: ignore[index]
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        assert code in (0, 130), f"serve exited with {code}"
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    print(f"serve: answered tasks.get_all at {url}, stopped cleanly (exit {code})")


def _first_answer(url: str, key: str, secret: str, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early with {process.returncode}")
        try:
            return call(url, key, secret)
        except OSError:
            time.sleep(0.3)
    raise AssertionError("serve did not answer within 60 s")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="taskstream-wheel-") as tmp:
        work = Path(tmp)
        wheel = build_wheel(work / "dist")
        check_contents(wheel)
        taskstream = install(wheel, work / "venv")
        help_text = subprocess.run([str(taskstream), "--help"], cwd=work, check=True, capture_output=True,
                                   text=True).stdout
        assert "serve" in help_text, help_text
        serve_smoke(taskstream, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
