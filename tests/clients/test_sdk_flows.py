"""Flows of the real `clearml` SDK that need two services at once (issue 10): model weights uploaded to the files
endpoint and registered with the models service, debug images uploaded and listed by the events read side, and a
task deleted with its artifacts, models and debug images."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients.conftest import Clients, Server

pytestmark = pytest.mark.clients

# Every call the SDK makes to the server is recorded as "<METHOD> <endpoint, or files>".
RECORDER = """
    import os, requests
    calls = []
    send = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        if not url.startswith(os.environ["CLEARML_API_HOST"]):
            return send(self, method, url, *args, **kwargs)
        tail = url.split("?", 1)[0].split("/", 3)[-1]
        calls.append(method.upper() + " " + ("files" if tail.startswith("files") else tail.rsplit("/", 1)[-1]))
        return send(self, method, url, *args, **kwargs)

    requests.Session.request = recording
"""

TRAIN = RECORDER + """
    import hashlib, json, os
    import numpy as np
    from PIL import Image
    from clearml import InputModel, Model, OutputModel, Task
    from clearml.storage import StorageManager

    weights = os.urandom(250_000)
    open("weights.pt", "wb").write(weights)
    Image.fromarray(np.full((32, 48, 3), 200, dtype=np.uint8)).save("local.png")

    task = Task.init(project_name="{project}", task_name="weights and images", output_uri=True)
    task.upload_artifact("table", artifact_object={{"rows": [1, 2, 3]}}, wait_on_upload=True)
    model = OutputModel(task=task, name="uploaded", framework="PyTorch")
    model.update_weights(weights_filename="weights.pt", iteration=1)
    model_id = model.id
    logger = task.get_logger()
    pixels = np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3)
    logger.report_image("samples", "array", iteration=1, image=pixels)
    logger.report_image("samples", "file", iteration=2, local_path="local.png")
    task.flush(wait_for_uploads=True)
    task_id = task.id
    task.close()

    copy = InputModel(model_id=model_id).get_local_copy()
    found = Model.query_models(project_name="{project}", model_name="uploaded")
    again = Task.get_task(task_id=task_id)
    samples = {{v: again.get_debug_samples("samples", v) for v in ("array", "file")}}
    downloaded = {{v: StorageManager.get_local_copy(s[0]["url"], force_download=True) if s else None
                  for v, s in samples.items()}}
    print("RESULT " + json.dumps({{
        "task": task_id, "model": model_id, "model_url": Model(model_id).url,
        "artifact_url": again.artifacts["table"].url,
        "weights_same": open(copy, "rb").read() == weights,
        "found": [m.id for m in found],
        "image_urls": {{v: [s["url"] for s in got] for v, got in samples.items()}},
        "file_image_same": downloaded["file"] is not None
                           and open(downloaded["file"], "rb").read() == open("local.png", "rb").read(),
        "array_image_size": os.path.getsize(downloaded["array"]) if downloaded["array"] else 0,
        "calls": sorted(set(calls)),
    }}))
"""

DELETE = RECORDER + """
    import json
    from clearml import Task

    Task.get_task(task_id="{task}").delete(delete_artifacts_and_models=True, raise_on_error=True)
    print("RESULT " + json.dumps({{"calls": sorted(set(calls))}}))
"""


def _auth(server: Server) -> dict[str, str]:
    pair = base64.b64encode(f"{server.access_key}:{server.secret_key}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


@pytest.fixture(scope="module")
def trained(clients_python: Path, server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    clients = Clients(clients_python, server, tmp_path_factory.mktemp("sdk-flows"))
    run = clients.run(TRAIN.format(project=f"flows-{uuid.uuid4().hex[:8]}"), timeout=240)
    result: dict[str, Any] = run.result()
    assert run.returncode == 0, run.stderr
    return result


def test_uploaded_weights_are_registered_and_download_byte_for_byte(trained: dict[str, Any], server: Server) -> None:
    assert trained["weights_same"]
    assert trained["found"] == [trained["model"]]
    assert trained["model_url"].startswith(f"{server.url}/files/")
    model = server.call("models.get_by_id", model=trained["model"])["model"]
    assert model["uri"] == trained["model_url"] and model["task"] == trained["task"]
    outputs = server.call("tasks.get_by_id", task=trained["task"])["task"]["models"]["output"]
    assert [o["model"] for o in outputs] == [trained["model"]]


def test_uploaded_debug_images_are_listed_and_download(trained: dict[str, Any], server: Server) -> None:
    for variant in ("array", "file"):
        urls = trained["image_urls"][variant]
        assert len(urls) == 1 and urls[0].startswith(f"{server.url}/files/"), urls
    assert trained["file_image_same"]
    assert trained["array_image_size"] > 100
    listed = server.call("events.debug_images", metrics=[{"task": trained["task"], "metric": "samples"}], iters=2)
    iterations = listed["metrics"][0]["iterations"]
    assert sorted(e["url"] for it in iterations for e in it["events"]) == sorted(
        trained["image_urls"]["array"] + trained["image_urls"]["file"])


def test_task_delete_removes_weights_artifacts_and_debug_images(trained: dict[str, Any], clients: Clients) -> None:
    server = clients.server
    urls = [trained["model_url"], trained["artifact_url"], *trained["image_urls"]["array"],
            *trained["image_urls"]["file"]]
    assert all(httpx.get(url, headers=_auth(server)).status_code == 200 for url in urls)
    run = clients.run(DELETE.format(task=trained["task"]), timeout=180)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert {url: httpx.get(url, headers=_auth(server)).status_code for url in urls} == {url: 404 for url in urls}
    assert server.call("models.get_all", id=[trained["model"]])["models"] == []
    assert "DELETE files" in result["calls"] and "GET models.delete" in result["calls"]
