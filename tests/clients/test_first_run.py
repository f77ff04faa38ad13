"""First run: the clearml.conf snippet that `taskstream serve` prints is accepted by the SDK as it is."""

from __future__ import annotations

import uuid

import pytest

from taskstream.api.cli import SECRET_PLACEHOLDER
from tests.clients.conftest import Clients, Server

pytestmark = pytest.mark.clients

TASK_INIT = """
    import json
    from clearml import Task

    task = Task.init(project_name="{project}", task_name="configured by the snippet")
    task_id = task.id
    task.close()
    print("RESULT " + json.dumps({{"id": task_id}}))
"""


def printed_snippet(output: str) -> str:
    """The clearml.conf block after the `clearml.conf:` line, up to its closing brace."""
    lines = output.split("clearml.conf:\n", 1)[1].splitlines()
    end = lines.index("}")
    return "\n".join(lines[: end + 1]) + "\n"


def test_serve_never_prints_a_secret_given_in_the_environment(server: Server) -> None:
    """The fixture's server got its key pair from TASKSTREAM_ACCESS_KEY/TASKSTREAM_SECRET_KEY (issue 9, 10a)."""
    assert server.access_key in server.printed()
    assert server.secret_key not in server.printed()


def test_printed_snippet_configures_the_sdk(clients: Clients) -> None:
    """The snippet as printed, with the secret the operator gave in TASKSTREAM_SECRET_KEY where it says so (a
    generated secret is printed in place: `tests/api/test_cli.py`)."""
    snippet = printed_snippet(clients.server.printed())
    assert clients.server.access_key in snippet and SECRET_PLACEHOLDER in snippet
    assert clients.server.secret_key not in snippet
    config = clients.home / "from-serve.conf"
    config.write_text(snippet.replace(SECRET_PLACEHOLDER, clients.server.secret_key))
    env = clients.env()
    for name in ("CLEARML_API_HOST", "CLEARML_WEB_HOST", "CLEARML_FILES_HOST", "CLEARML_API_ACCESS_KEY",
                 "CLEARML_API_SECRET_KEY"):
        env.pop(name)
    env["CLEARML_CONFIG_FILE"] = str(config)
    project = f"first-run-{uuid.uuid4().hex[:8]}"
    run = clients.run(TASK_INIT.format(project=project), env=env, timeout=90)
    result = run.result()
    assert run.returncode == 0, run.stderr
    task = clients.server.call("tasks.get_by_id", task=result["id"])["task"]
    assert (task["name"], task["status"]) == ("configured by the snippet", "completed")
