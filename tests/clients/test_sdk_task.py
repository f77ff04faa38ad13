"""The real `clearml` SDK's `Task` layer against a real `taskstream serve` (clients.md §3b, §3c)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.clients.conftest import Clients, Server

pytestmark = pytest.mark.clients

TASK_INIT_FLOW = """
    import json
    from clearml import Task

    task = Task.init(project_name="{project}", task_name="sdk flow")
    params = task.connect({{"lr": 0.1, "epochs": 3}})
    logger = task.get_logger()
    logger.report_scalar("loss", "train", 0.5, iteration=1)
    logger.report_scalar("loss", "train", 0.25, iteration=2)
    print("hello from the sdk flow")
    task_id = task.id
    task.close()
    print("RESULT " + json.dumps({{"id": task_id, "params": params}}))
"""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _project_id(server: Server, name: str) -> str:
    projects = server.call("projects.get_all", name=f"^{name}$", only_fields=["id"])["projects"]
    assert len(projects) == 1, projects
    return str(projects[0]["id"])


def _log_lines(server: Server, task_id: str) -> list[str]:
    events = server.call("events.get_task_log", task=task_id, batch_size=1000, navigate_earlier=False)["events"]
    return [str(e.get("msg", "")) for e in events]


def test_task_init_connect_report_close(clients: Clients) -> None:
    project = f"sdk-{uuid.uuid4().hex[:8]}"
    run = clients.run(TASK_INIT_FLOW.format(project=project), timeout=120)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert result["params"] == {"lr": 0.1, "epochs": 3}

    task = clients.server.call("tasks.get_by_id", task=result["id"])["task"]
    assert task["status"] == "completed"
    assert task["project"] == _project_id(clients.server, project)
    assert "development" in task["system_tags"]
    general = task["hyperparams"]["General"]
    assert (general["lr"]["value"], general["epochs"]["value"]) == ("0.1", "3")
    assert task["last_metrics"][_md5("loss")][_md5("train")] == {
        "metric": "loss", "variant": "train", "value": 0.25, "min_value": 0.25, "max_value": 0.5}
    assert task["last_iteration"] == 2
    assert task["script"]["diff"] and "sdk flow" in task["script"]["diff"]
    assert any("hello from the sdk flow" in line for line in _log_lines(clients.server, result["id"]))


GET_CLONE_ENQUEUE_FLOW = """
    import json
    from clearml import Task
    from clearml.backend_api.session.client import APIClient

    client = APIClient()
    project_id = client.projects.create(name="{project}", description="").id
    x = {{"section": "Args", "name": "x", "value": "1"}}
    source_id = client.tasks.create(name="clone source", type="training", project=project_id,
                                    hyperparams={{"Args": {{"x": x}}}}).id
    by_id = Task.get_task(task_id=source_id)
    by_name = Task.get_task(project_name="{project}", task_name="clone source")
    clone = Task.clone(source_task=by_id, name="the clone")
    Task.enqueue(clone, queue_name="default")
    clone.reload()
    print("RESULT " + json.dumps({{
        "source": source_id, "by_id": by_id.id, "by_name": by_name.id, "by_id_name": by_id.name,
        "clone": clone.id, "clone_status": str(clone.status), "clone_params": clone.get_parameters(),
    }}))
"""


def test_get_task_clone_enqueue(clients: Clients) -> None:
    project = f"clone-{uuid.uuid4().hex[:8]}"
    run = clients.run(GET_CLONE_ENQUEUE_FLOW.format(project=project), timeout=90)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert result["by_id"] == result["by_name"] == result["source"]
    assert result["by_id_name"] == "clone source"
    assert result["clone"] != result["source"] and result["clone_status"] == "queued"
    assert result["clone_params"] == {"Args/x": "1"}
    clone = clients.server.call("tasks.get_by_id", task=result["clone"])["task"]
    assert (clone["status"], clone["parent"], clone["name"]) == ("queued", result["source"], "the clone")
    default = clients.server.call("queues.get_all", name="^default$", only_fields=["id"])["queues"]
    assert clone["execution"]["queue"] == default[0]["id"]
