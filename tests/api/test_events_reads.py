"""The events service's read side (issue 10 §3): reported results read back in the shapes the SDK parses,
downsampled within the sample count, tenant-scoped, and gone with their task."""

from __future__ import annotations

import json
from typing import Any

from taskstream.api.context import AppContext
from tests.api.test_events import add_batch, log, scalar
from tests.conftest import Tenant

SINGLE = -(2**31)


def plot(task: str, metric: str, variant: str, iteration: int, ts: int = 1000) -> dict[str, Any]:
    return {"timestamp": ts, "type": "plot", "task": task, "iter": iteration, "metric": metric, "variant": variant,
            "plot_str": json.dumps({"data": [{"x": [1], "y": [iteration]}]})}


def image(task: str, metric: str, variant: str, iteration: int, ts: int = 1000) -> dict[str, Any]:
    return {"timestamp": ts, "type": "training_debug_image", "task": task, "iter": iteration, "metric": metric,
            "variant": variant, "url": f"https://example.com/{metric}/{variant}/{iteration}.png"}


async def _batch(tenant: Tenant, *events: dict[str, Any]) -> None:
    body = await add_batch(tenant, *events)
    assert body["meta"]["result_code"] == 200, body["meta"]


async def test_histogram_returns_short_series_whole(tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, *[scalar(task, "loss", "train", i / 10, i, ts=1000 + i) for i in range(5)],
                 scalar(task, "acc", "val", 7, 2), scalar(task, "Summary", "best", 3.5, SINGLE))
    data = await tenant.call("events.scalar_metrics_iter_histogram", task=task)
    assert data == {"loss": {"train": {"name": "train", "x": [0, 1, 2, 3, 4], "y": [0.0, 0.1, 0.2, 0.3, 0.4]}},
                    "acc": {"val": {"name": "val", "x": [2], "y": [7.0]}}}
    by_time = await tenant.call("events.scalar_metrics_iter_histogram", task=task, key="timestamp",
                                metrics=[{"metric": "loss", "variants": ["train"]}])
    assert by_time["loss"]["train"]["x"] == [1000, 1001, 1002, 1003, 1004]
    iso = await tenant.call("events.scalar_metrics_iter_histogram", task=task, key="iso_time",
                            metrics=[{"metric": "acc"}])
    assert iso == {"acc": {"val": {"name": "val", "x": ["1970-01-01T00:00:01.000Z"], "y": [7.0]}}}


async def test_histogram_downsamples_long_series_to_the_sample_count(tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, *[scalar(task, "loss", "train", float(i), i) for i in range(1000)])
    data = await tenant.call("events.scalar_metrics_iter_histogram", task=task, samples=100)
    series = data["loss"]["train"]
    # 1000 iterations in buckets of ceil(1000 / 100) = 10, keyed by their lower bound, averaged.
    assert len(series["x"]) == 100
    assert series["x"][:3] == [0, 10, 20] and series["y"][:3] == [4.5, 14.5, 24.5]
    odd = await tenant.call("events.scalar_metrics_iter_histogram", task=task, samples=7)
    assert len(odd["loss"]["train"]["x"]) <= 7
    huge = await tenant.call("events.scalar_metrics_iter_histogram", task=task, samples=10**6)
    assert len(huge["loss"]["train"]["x"]) == 1000  # within the cap of 6000: all points


async def test_multi_task_histogram_keys_series_by_task(tenant: Tenant) -> None:
    first, second = await tenant.create_task("first"), await tenant.create_task("second")
    await _batch(tenant, scalar(first, "loss", "train", 1.0, 1), scalar(second, "loss", "train", 2.0, 1))
    data = await tenant.call("events.multi_task_scalar_metrics_iter_histogram", tasks=[first, second])
    assert data["metrics"]["loss"]["train"] == {first: {"name": "first", "x": [1], "y": [1.0]},
                                                second: {"name": "second", "x": [1], "y": [2.0]}}


async def test_single_values_latest_report_per_name(tenant: Tenant) -> None:
    task = await tenant.create_task("single")
    await _batch(tenant, scalar(task, "Summary", "accuracy", 0.5, SINGLE, ts=1),
                 scalar(task, "Summary", "accuracy", 0.9, SINGLE, ts=2), scalar(task, "loss", "train", 1.0, 1))
    data = await tenant.call("events.get_task_single_value_metrics", tasks=[task])
    assert data == {"tasks": [{"task": task, "task_name": "single", "values": [
        {"metric": "Summary", "variant": "accuracy", "value": 0.9, "timestamp": 2}]}]}
    empty = await tenant.create_task()
    assert await tenant.call("events.get_task_single_value_metrics", tasks=[empty]) == {"tasks": []}


async def test_plots_of_the_last_iterations_per_metric(tenant: Tenant) -> None:
    task = await tenant.create_task("plots")
    await _batch(tenant, plot(task, "roc", "a", 1), plot(task, "roc", "a", 2), plot(task, "cm", "b", 1))
    data = await tenant.call("events.get_task_plots", task=task, iters=1, no_scroll=True)
    assert [(p["metric"], p["variant"], p["iter"]) for p in data["plots"]] == [("roc", "a", 2), ("cm", "b", 1)]
    assert data["returned"] == 2 and data["plots"][0]["plot_str"] == '{"data": [{"x": [1], "y": [2]}]}'
    both = await tenant.call("events.get_task_plots", task=task, iters=2)
    assert both["returned"] == 3
    multi = await tenant.call("events.get_multi_task_plots", tasks=[task], iters=1)
    assert multi["plots"]["roc"]["a"][task]["2"]["name"] == "plots"
    assert [p["iter"] for p in multi["plots"]["roc"]["a"][task]["2"]["plots"]] == [2]


async def test_task_events_scroll_in_iteration_order(tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, *[scalar(task, "m", "v", float(i), i) for i in (3, 1, 4, 0, 2)], log(task, "hi", 5))
    first = await tenant.call("events.get_task_events", task=task, event_type="training_stats_scalar",
                              batch_size=2)
    assert [e["iter"] for e in first["events"]] == [0, 1] and first["total"] == 5
    seen = [e["iter"] for e in first["events"]]
    scroll = first["scroll_id"]
    while True:
        page = await tenant.call("events.get_task_events", task=task, scroll_id=scroll)
        if not page["events"]:
            break
        seen += [e["iter"] for e in page["events"]]
        scroll = page["scroll_id"]
    assert seen == [0, 1, 2, 3, 4]
    everything = await tenant.call("events.get_task_events", task=task, order="desc")
    assert [e.get("iter") for e in everything["events"]] == [None, 4, 3, 2, 1, 0]
    failure = await tenant.fails("events.get_task_events", task=task, scroll_id="not a scroll")
    assert (failure.code, failure.subcode) == (400, 1104)


async def test_scalar_metric_data_latest_iteration_first(tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, *[scalar(task, "m", "v", float(i), i) for i in range(3)], scalar(task, "n", "v", 1.0, 9))
    data = await tenant.call("events.get_scalar_metric_data", task=task, metric="m")
    assert [e["iter"] for e in data["events"]] == [2, 1, 0] and data["total"] == 3


async def test_metric_names_and_series(tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, scalar(task, "loss", "a", 1.0, 1), scalar(task, "acc", "b", 1.0, 1), plot(task, "roc", "x", 1),
                 scalar(task, "Summary", "best", 1.0, SINGLE))
    data = await tenant.call("events.get_task_metrics", tasks=[task], event_type="training_stats_scalar")
    assert data == {"metrics": [{"task": task, "metrics": ["acc", "loss"]}]}
    every = await tenant.call("events.get_task_metrics", tasks=[task])
    assert every["metrics"][0]["metrics"] == ["acc", "loss", "roc"]
    series = await tenant.call("events.get_scalar_metrics_and_variants", task=task)
    assert series == {"metrics": {"acc": {"b": {"name": "b"}}, "loss": {"a": {"name": "a"}}}}


async def test_debug_images_grouped_by_iteration_and_scrolled(tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, *[image(task, "samples", v, i) for i in range(3) for v in ("a", "b")],
                 image(task, "other", "c", 2))
    request = {"metrics": [{"task": task, "metric": "samples", "variants": ["a", "b"]}], "iters": 2}
    data = await tenant.call("events.debug_images", **request)
    iterations = data["metrics"][0]["iterations"]
    assert data["metrics"][0]["task"] == task
    assert [(it["iter"], [e["variant"] for e in it["events"]]) for it in iterations] == [(2, ["a", "b"]),
                                                                                       (1, ["a", "b"])]
    assert iterations[0]["events"][0]["url"] == "https://example.com/samples/a/2.png"
    more = await tenant.call("events.debug_images", **request, scroll_id=data["scroll_id"])
    assert [it["iter"] for it in more["metrics"][0]["iterations"]] == [0]
    done = await tenant.call("events.debug_images", **request, scroll_id=more["scroll_id"])
    assert done["metrics"][0]["iterations"] == []
    whole_task = await tenant.call("events.debug_images", metrics=[{"task": task}], iters=1)
    assert [e["metric"] for e in whole_task["metrics"][0]["iterations"][0]["events"]] == ["other", "samples",
                                                                                          "samples"]


async def test_another_companys_results_are_invalid_task_ids(tenant: Tenant, other_tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, scalar(task, "loss", "train", 1.0, 1), plot(task, "roc", "a", 1))
    for endpoint, body in (("events.scalar_metrics_iter_histogram", {"task": task}),
                           ("events.get_task_plots", {"task": task}),
                           ("events.get_task_events", {"task": task}),
                           ("events.get_task_single_value_metrics", {"tasks": [task]}),
                           ("events.get_task_metrics", {"tasks": [task]}),
                           ("events.multi_task_scalar_metrics_iter_histogram", {"tasks": [task]}),
                           ("events.debug_images", {"metrics": [{"task": task}]})):
        failure = await other_tenant.fails(endpoint, **body)
        assert (failure.code, failure.subcode) == (400, 101), endpoint


async def test_public_tasks_results_are_readable_by_all(tenant: Tenant, other_tenant: Tenant) -> None:
    task = await tenant.create_task()
    await _batch(tenant, scalar(task, "loss", "train", 1.0, 1))
    await tenant.call("tasks.make_public", ids=[task])
    data = await other_tenant.call("events.scalar_metrics_iter_histogram", task=task)
    assert data["loss"]["train"]["y"] == [1.0]


async def test_results_are_deleted_with_the_task(tenant: Tenant, ctx: AppContext) -> None:
    task = await tenant.create_task()
    await _batch(tenant, scalar(task, "loss", "train", 1.0, 1), plot(task, "roc", "a", 1), log(task, "x", 1))
    await tenant.call("tasks.delete", task=task, force=True)
    assert await ctx.pool.fetchval("SELECT count(*) FROM task_events WHERE task = $1", task) == 0
    failure = await tenant.fails("events.scalar_metrics_iter_histogram", task=task)
    assert (failure.code, failure.subcode) == (400, 101)


async def test_results_are_deleted_when_the_task_is_reset(tenant: Tenant, ctx: AppContext) -> None:
    task = await tenant.create_task()
    await _batch(tenant, scalar(task, "loss", "train", 1.0, 1))
    await tenant.call("tasks.reset", task=task, force=True)
    assert await tenant.call("events.scalar_metrics_iter_histogram", task=task) == {}
    assert await ctx.pool.fetchval("SELECT count(*) FROM task_events WHERE task = $1", task) == 0
