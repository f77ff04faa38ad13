"""How the task page presents a document (api/web/task_view.py). No I/O."""

from __future__ import annotations

from taskstream.api.web.diff import Change
from taskstream.api.web.task_view import (
    artifacts,
    duration,
    model_links,
    params,
    readable_change,
    requirements,
    size,
    when,
    when_ms,
)


def test_times_durations_and_sizes() -> None:
    assert when("2026-12-05T02:52:24.994000+00:00") == "2026-12-05 02:52:24 UTC"
    assert when(None) == "" and when("not a time") == "not a time"
    assert when_ms(1796439145376) == "2026-12-05 02:52:25.376" and when_ms("x") == ""
    assert (duration(5), duration(65), duration(3725), duration(None)) == ("5s", "1m 05s", "1h 02m 05s", "")
    assert (size(11), size(64_000), size(2_500_000), size(True)) == ("11 B", "64.0 KB", "2.5 MB", "")


def test_changes_show_times_readably() -> None:
    change = readable_change(Change("started", "", "2026-12-05T03:05:41.603000+00:00", "added"))
    assert (change.before, change.after) == ("", "2026-12-05 03:05:41 UTC")


def test_rows_of_a_task_document() -> None:
    task = {"hyperparams": {"General": {"lr": {"value": "0.1", "type": "float", "description": "step"}}},
            "script": {"requirements": {"pip": "numpy\n", "conda": ""}},
            "models": {"input": [{"name": "base", "model": "m1"}], "output": None},
            "execution": {"artifacts": [{"key": "z", "mode": "input", "uri": "s3://b/z"},
                                        {"key": "a", "mode": "output", "uri": "http://h/files/a.txt",
                                         "content_size": 5}]}}

    assert params(task) == [{"section": "General", "name": "lr", "value": "0.1", "type": "float",
                             "description": "step"}]
    assert requirements(task) == [("pip", "numpy\n")]
    assert model_links(task) == {"input": [{"name": "base", "model": "m1"}], "output": []}
    found = artifacts(task)
    assert [(a["key"], a["link"], a["preview"].kind) for a in found] == [("a", "/files/a.txt", "fetch"),
                                                                        ("z", None, "none")]
    assert params({}) == [] and artifacts({}) == []


def test_the_scalars_tab_lists_the_metrics_of_last_metrics() -> None:
    from taskstream.api.web.task_view import scalar_metrics

    task = {"last_metrics": {"h1": {"v1": {"metric": "loss", "variant": "train"},
                                    "v2": {"metric": "loss", "variant": "val"}},
                             "h2": {"v1": {"metric": "accuracy", "variant": "val"}}}}
    assert scalar_metrics(task) == ["accuracy", "loss"] and scalar_metrics({}) == []
