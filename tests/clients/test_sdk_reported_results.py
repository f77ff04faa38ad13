"""Reported results read back through the real `clearml` SDK against a real `taskstream serve` (issue 10 §3):
scalars, plots, single values and debug images (reported by URL: uploading an image needs the files server)."""

from __future__ import annotations

import uuid

import pytest

from tests.clients.conftest import Clients

pytestmark = pytest.mark.clients

REPORT_AND_READ_BACK = """
    import json
    import requests
    from clearml import Task

    calls = []
    send = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        calls.append(url.rsplit("/", 1)[-1])
        return send(self, method, url, *args, **kwargs)

    requests.Session.request = recording

    task = Task.init(project_name="{project}", task_name="reported results")
    logger = task.get_logger()
    for i in range(5):
        logger.report_scalar("loss", "train", 1.0 / (i + 1), iteration=i)
        logger.report_scalar("loss", "val", 2.0 / (i + 1), iteration=i)
    logger.report_scatter2d("scatter", "points", iteration=3, scatter=[[0, 1], [1, 4], [2, 9]])
    logger.report_single_value("accuracy", 0.93)
    logger.report_image("samples", "first", iteration=2, url="https://example.com/images/first.png")
    task_id = task.id
    task.flush(wait_for_uploads=True)
    task.close()

    task = Task.get_task(task_id=task_id)
    scalars = task.get_reported_scalars()
    plots = task.get_reported_plots()
    single = task.get_reported_single_values()
    images = task.get_debug_samples("samples", "first")
    last = task.get_last_scalar_metrics()
    every = task.get_all_reported_scalars()
    print("RESULT " + json.dumps({{"id": task_id, "scalars": scalars, "plots": plots, "single": single,
                                  "images": images, "last": last, "every": every,
                                  "calls": sorted({{c for c in calls if c.startswith("events.")}})}}))
"""


def test_reported_results_read_back_through_the_sdk(clients: Clients) -> None:
    run = clients.run(REPORT_AND_READ_BACK.format(project=f"results-{uuid.uuid4().hex[:8]}"), timeout=180)
    result = run.result()
    assert run.returncode == 0, run.stderr

    loss = result["scalars"]["loss"]
    assert loss["train"]["x"] == [0, 1, 2, 3, 4]
    assert loss["train"]["y"] == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert loss["val"]["y"] == pytest.approx([2.0, 1.0, 2 / 3, 0.5, 0.4])
    assert "Summary" not in result["scalars"]  # single values are not a series
    assert result["every"]["loss"]["train"]["x"] == [0, 1, 2, 3, 4]

    assert [(p["metric"], p["variant"], p["iter"]) for p in result["plots"]] == [("scatter", "points", 3)]
    assert '"y": [1, 4, 9]' in result["plots"][0]["plot_str"].replace("\\n", "")

    assert result["single"] == {"accuracy": 0.93}
    assert [(i["metric"], i["variant"], i["iter"], i["url"]) for i in result["images"]] == [
        ("samples", "first", 2, "https://example.com/images/first.png")]
    assert result["last"]["loss"]["train"]["last"] == pytest.approx(0.2)

    assert result["calls"] == ["events.add_batch", "events.debug_images", "events.get_task_events",
                               "events.get_task_plots", "events.get_task_single_value_metrics",
                               "events.scalar_metrics_iter_histogram"]
