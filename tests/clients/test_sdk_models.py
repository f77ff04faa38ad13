"""The real `clearml` SDK's model layer against a real `taskstream serve` (issue 10 §2): output models registered
by URI (no upload: the files server is issue 10 §1), metadata, publishing, `Model.query_models`, `InputModel` and
`task.connect(input_model)`."""

from __future__ import annotations

import uuid

import pytest

from tests.clients.conftest import Clients

pytestmark = pytest.mark.clients

TRAIN = """
    import json
    from clearml import OutputModel, Task

    task = Task.init(project_name="{project}", task_name="train")
    model = OutputModel(task=task, name="resnet", framework="PyTorch", label_enumeration={{"cat": 1, "dog": 2}},
                        tags=["best"])
    model.update_weights(register_uri="file:///tmp/{project}/weights.pt", iteration=3)
    model.set_metadata("epochs", "90", "int")
    model.publish()
    model_id = model.id
    task_id = task.id
    task.close()
    print("RESULT " + json.dumps({{"model": model_id, "task": task_id}}))
"""

CONSUME = """
    import json
    from clearml import InputModel, Model, Task

    found = Model.query_models(project_name="{project}", model_name="resnet", tags=["best"], only_published=True)
    metadata = InputModel(model_id="{model}").get_all_metadata()
    task = Task.init(project_name="{project}", task_name="consume")
    input_model = InputModel(model_id="{model}")
    task.connect(input_model)
    task_id = task.id
    task.close()
    print("RESULT " + json.dumps({{"found": [m.id for m in found], "metadata": metadata, "task": task_id,
                                   "uri": input_model.url, "labels": input_model.labels}}))
"""


def test_output_model_registered_by_uri_published_queried_and_consumed(clients: Clients) -> None:
    project = f"models-{uuid.uuid4().hex[:8]}"
    run = clients.run(TRAIN.format(project=project), timeout=180)
    assert run.returncode == 0, run.stderr
    trained = run.result()
    server = clients.server
    model = server.call("models.get_by_id", model=trained["model"])["model"]
    assert model["uri"] == f"file:///tmp/{project}/weights.pt"
    assert model["task"] == trained["task"] and model["framework"] == "PyTorch"
    assert model["labels"] == {"cat": 1, "dog": 2} and model["ready"] is True and "best" in model["tags"]
    assert model["metadata"]["epochs"] == {"key": "epochs", "type": "int", "value": "90"}
    outputs = server.call("tasks.get_by_id", task=trained["task"])["task"]["models"]["output"]
    assert [o["model"] for o in outputs] == [trained["model"]]

    run = clients.run(CONSUME.format(project=project, model=trained["model"]), timeout=180)
    assert run.returncode == 0, run.stderr
    consumed = run.result()
    assert consumed["found"] == [trained["model"]]
    assert consumed["metadata"]["epochs"]["value"] == "90"
    assert consumed["uri"] == f"file:///tmp/{project}/weights.pt" and consumed["labels"] == {"cat": 1, "dog": 2}
    inputs = server.call("tasks.get_by_id", task=consumed["task"])["task"]["models"]["input"]
    assert [i["model"] for i in inputs] == [trained["model"]]
    history = server.call("models.get_history", model=trained["model"])["history"]
    assert [h["endpoint"] for h in history] == ["models.create", "models.edit", "models.edit",
                                                "models.add_or_update_metadata", "models.set_ready"]
