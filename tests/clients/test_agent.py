"""The real `clearml-agent` running a task against a real `taskstream serve` (clients.md §3d)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.clients.conftest import Clients

pytestmark = pytest.mark.clients

# The script the agent runs: it has no repository, so the whole file travels in `script.diff`.
REMOTE_SCRIPT = """\
from clearml import Task

task = Task.init(project_name="ignored when remote", task_name="ignored when remote")
task.get_logger().report_scalar("remote", "value", 42.0, iteration=7)
print("agent run says hello")
"""

CREATE_CLONE = """
    import json
    from clearml import Task
    from clearml.backend_api.session.client import APIClient

    client = APIClient()
    project_id = client.projects.create(name="{project}", description="").id
    template = client.tasks.create(
        name="agent template", type="training", project=project_id,
        script={{"binary": "python3", "repository": "", "entry_point": "remote_task.py", "working_dir": ".",
                 "diff": {script}}})
    clone = Task.clone(source_task=template.id, name="agent run")
    queue = "{queue}"
    if queue:
        client.tasks.enqueue(task=clone.id, queue_name=queue)
    print("RESULT " + json.dumps({{"template": template.id, "clone": clone.id}}))
"""


def _agent_env(clients: Clients, worker: str) -> dict[str, str]:
    return clients.env(CLEARML_AGENT_SKIP_PIP_VENV_INSTALL=str(clients.python),
                       CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL="1", CLEARML_WORKER_ID=worker,
                       CLEARML_AGENT_QUEUE_POLL_FREQ_SEC="2")


def _create_clone(clients: Clients, queue: str = "", remote_script: str = REMOTE_SCRIPT) -> dict[str, str]:
    project = f"agent-{uuid.uuid4().hex[:8]}"
    script = CREATE_CLONE.format(project=project, script=json.dumps(remote_script), queue=queue)
    return dict(clients.run(script, timeout=60).result())


def test_agent_execute_runs_a_clone_to_completed(clients: Clients) -> None:
    ids = _create_clone(clients)
    agent = clients.python.parent / "clearml-agent"
    env = _agent_env(clients, "taskstream-test-agent:0")
    run = clients.command([str(agent), "execute", "--id", ids["clone"]], cwd=clients.home, timeout=180, env=env)
    task = clients.server.call("tasks.get_by_id", task=ids["clone"])["task"]
    assert task["status"] == "completed", f"{task['status']}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == 0
    assert task["last_worker"] == "taskstream-test-agent:0"
    assert task["last_iteration"] == 7
    events = clients.server.call("events.get_task_log", task=ids["clone"], batch_size=10000,
                                 navigate_earlier=False)["events"]
    assert any("agent run says hello" in str(e.get("msg")) for e in events), [e.get("msg") for e in events]
    template = clients.server.call("tasks.get_by_id", task=ids["template"])["task"]
    assert template["status"] == "created"


ARTIFACT_SCRIPT = """\
from clearml import Task

task = Task.init(project_name="ignored when remote", task_name="ignored when remote")
task.upload_artifact("summary", artifact_object={"accuracy": 0.91, "run": "remote"}, wait_on_upload=True)
"""


def test_agent_runs_a_clone_whose_script_uploads_an_artifact(clients: Clients) -> None:
    ids = _create_clone(clients, remote_script=ARTIFACT_SCRIPT)
    agent = clients.python.parent / "clearml-agent"
    env = _agent_env(clients, "taskstream-test-agent:1")
    run = clients.command([str(agent), "execute", "--id", ids["clone"]], cwd=clients.home, timeout=180, env=env)
    task = clients.server.call("tasks.get_by_id", task=ids["clone"])["task"]
    assert task["status"] == "completed", f"{task['status']}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    artifacts = {a["key"]: a for a in task["execution"]["artifacts"]}
    assert artifacts["summary"]["uri"].startswith(f"{clients.server.url}/files/"), artifacts
    read_back = clients.run(f"""
        import json
        from clearml import Task
        print("RESULT " + json.dumps(Task.get_task(task_id="{ids['clone']}").artifacts["summary"].get()))
    """, timeout=60)
    assert read_back.result() == {"accuracy": 0.91, "run": "remote"}


def _wait_for_status(clients: Clients, task_id: str, statuses: tuple[str, ...], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = clients.server.call("tasks.get_all", id=[task_id], only_fields=["status"])["tasks"][0]["status"]
        if status in statuses:
            return str(status)
        time.sleep(1)
    return str(status)


def test_agent_daemon_pulls_a_queued_task_and_runs_it(clients: Clients) -> None:
    queue = f"agent-queue-{uuid.uuid4().hex[:6]}"
    ids = _create_clone(clients, queue=queue)
    agent = clients.python.parent / "clearml-agent"
    log_path = clients.home / "daemon.log"
    with log_path.open("w") as log:
        # A session of its own, so the daemon and the `execute` child it spawns are stopped together.
        daemon = subprocess.Popen([str(agent), "daemon", "--queue", queue, "--foreground"], cwd=clients.home,
                                  env=_agent_env(clients, "taskstream-daemon:0"), stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status = _wait_for_status(clients, ids["clone"], ("completed", "failed", "stopped"), timeout=150)
        workers = [w["id"] for w in clients.server.call("workers.get_all")["workers"]]
    finally:
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    assert status == "completed", log_path.read_text()[-5000:]
    assert "taskstream-daemon:0" in workers
    task = clients.server.call("tasks.get_by_id", task=ids["clone"])["task"]
    assert task["last_iteration"] == 7
    queue_id = clients.server.call("queues.get_all", name=f"^{queue}$", only_fields=["id"])["queues"][0]["id"]
    assert clients.server.call("queues.get_by_id", queue=queue_id)["queue"]["entries"] == []
