"""Property-based fuzz of every operation of `/openapi.json` with schemathesis (pinned in pyproject.toml), against
a real `taskstream serve` (issue 9, "Proof, in the suite"): no answer is a 5xx and every answer is a ClearML
envelope whose `result_code` is the HTTP status.

The server runs with TASKSTREAM_DEBUG=1 so a failure's report carries the traceback, on a database of its own on
the session's PostgreSQL (the fuzz writes junk that other tests must not see: public tasks, odd names).
Bounded for CI: FUZZ_EXAMPLES cases per operation and phase (default 15) with a fixed seed, so a run is
reproducible and takes about a minute on the project's 2-core machine; FUZZ_SEED and FUZZ_EXAMPLES widen it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve_process import REPO, ServeProcess, scratch_database

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = int(os.environ.get("FUZZ_SEED", "1"))
TIME_LIMIT = max(240, EXAMPLES * 8)


@pytest.fixture(scope="module")
def fuzz_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    home = tmp_path_factory.mktemp("fuzz-serve")
    with scratch_database(database_url, "fuzz") as url:
        server = ServeProcess(url, home, TASKSTREAM_DEBUG="1", TASKSTREAM_SUBSCRIBERS="")
        server.start()
        try:
            yield server
        finally:
            server.stop()


def test_every_operation_answers_an_envelope_and_never_a_server_error(
        fuzz_server: ServeProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = Path(sys.executable).with_name("st")
    argv = [str(st), "run", f"{fuzz_server.url}/openapi.json", "--auth", ":".join(fuzz_server.auth),
            "--checks", "not_a_server_error,clearml_envelope", "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "2", "--continue-on-failure",
            "--warnings", "off", "--request-timeout", "30", "--report", "junit", "--report-dir", str(tmp_path)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIME_LIMIT)
    output = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", output)
    operations = re.search(r"Tested: (\d+)", output)
    with capsys.disabled():  # the counts show in every run's output, not only when the test fails
        print(f"\nschemathesis: {operations.group(1) if operations else '?'} operations, "
              f"{generated.group(1) if generated else '?'} cases, seed {SEED}, {EXAMPLES} examples per operation")
    assert done.returncode == 0, output[-20000:]
    assert operations is not None and int(operations.group(1)) >= 60, output[-5000:]
