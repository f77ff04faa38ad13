"""The events service's read side: reported results back to the SDK and a comparison view (issue 10 §3).

Each endpoint checks the caller may read the tasks (its own or public ones: 400/101 otherwise) and answers from
`projections.scalar_histogram`, `telemetry_reads` and `telemetry_scroll`, in the reference server's shapes.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id
from taskstream.projections.scalar_histogram import clamp_samples, compare_histograms, metric_filter, task_histogram
from taskstream.projections.telemetry_reads import (
    ReadableTask,
    decode_scroll,
    encode_scroll,
    latest_plots,
    metric_names,
    readable_tasks,
    scalar_series,
    single_values,
)
from taskstream.projections.telemetry_scroll import count_events, image_iterations, task_events_page
from taskstream.schemas.errors import ApiError, invalid_task_id, validation_error

DEFAULT_BATCH = 500
MAX_BATCH = 10000
MAX_COMPARED_TASKS = 100


def _task_list(call: Call) -> list[str]:
    tasks = call.data.get("tasks")
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    if not isinstance(tasks, list) or not tasks:
        raise ApiError(400, 11, "tasks")
    return [str(t) for t in tasks]


async def _readable(call: Call, task_ids: list[str]) -> list[ReadableTask]:
    """The tasks in request order (duplicates once); 400/101 when one is unknown or another company's."""
    found = await readable_tasks(call.ctx.pool, task_ids, call.actor.company)
    missing = [t for t in dict.fromkeys(task_ids) if t not in found]
    if len(task_ids) == 1 and missing:
        raise invalid_task_id(id=task_ids[0])
    if missing:
        raise invalid_task_id(company=call.actor.company, ids=missing)
    return [found[t] for t in dict.fromkeys(task_ids)]


def _positive(call: Call, name: str, default: int, maximum: int | None = None) -> int:
    value = call.data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise validation_error(f"{name} should be a positive integer")
    return value if maximum is None else min(value, maximum)


@endpoint("events.scalar_metrics_iter_histogram")
async def scalar_metrics_iter_histogram(call: Call) -> dict[str, Any]:
    """`{metric: {variant: {name, x, y}}}`, each series at most `samples` points (default 2000): averages over
    equal iteration (or time) ranges when the series is longer."""
    task = (await _readable(call, [require_task_id(call)]))[0]
    return await task_histogram(call.ctx.pool, task.owner, task.id, clamp_samples(call.data.get("samples")),
                                call.data.get("key") or "iter", metric_filter(call.data.get("metrics")))


@endpoint("events.multi_task_scalar_metrics_iter_histogram")
async def multi_task_scalar_metrics_iter_histogram(call: Call) -> dict[str, Any]:
    """`{metrics: {metric: {variant: {task: {name: task name, x, y}}}}}` for up to 100 tasks."""
    task_ids = _task_list(call)
    if len(task_ids) > MAX_COMPARED_TASKS:
        raise validation_error(f"at most {MAX_COMPARED_TASKS} tasks can be compared")
    tasks = await _readable(call, task_ids)
    metrics = await compare_histograms(call.ctx.pool, {t.id: (t.owner, t.name) for t in tasks},
                                       clamp_samples(call.data.get("samples")), call.data.get("key") or "iter",
                                       metric_filter(call.data.get("metrics")))
    return {"metrics": metrics}


@endpoint("events.get_task_single_value_metrics")
async def get_task_single_value_metrics(call: Call) -> dict[str, Any]:
    """`{tasks: [{task, task_name, values: [{metric, variant, value, timestamp}]}]}`, tasks with values only."""
    tasks = await _readable(call, _task_list(call))
    values = await single_values(call.ctx.pool, tasks)
    return {"tasks": [{"task": t.id, "task_name": t.name, "values": values[t.id]} for t in tasks if t.id in values]}


@endpoint("events.get_task_metrics")
async def get_task_metrics(call: Call) -> dict[str, Any]:
    """`{metrics: [{task, metrics: [names]}]}` for the events of `event_type` (all types when absent)."""
    tasks = await _readable(call, _task_list(call))
    names = await metric_names(call.ctx.pool, tasks, call.data.get("event_type"))
    return {"metrics": [{"task": t.id, "metrics": names[t.id]} for t in tasks]}


@endpoint("events.get_scalar_metrics_and_variants")
async def get_scalar_metrics_and_variants(call: Call) -> dict[str, Any]:
    """`{metrics: {metric: {variant: {name}}}}` of the task's scalar series."""
    task = (await _readable(call, [require_task_id(call)]))[0]
    return {"metrics": await scalar_series(call.ctx.pool, task)}


@endpoint("events.get_task_plots")
async def get_task_plots(call: Call) -> dict[str, Any]:
    """`{plots, returned, total, scroll_id}`: the plots of the last `iters` (default 1) iterations of each
    (metric, variant), latest first. Everything comes in one answer, so there is no scroll to continue."""
    task = (await _readable(call, [require_task_id(call)]))[0]
    plots = await latest_plots(call.ctx.pool, [task], _positive(call, "iters", 1),
                               metric_filter(call.data.get("metrics")))
    return {"plots": plots, "returned": len(plots), "total": len(plots), "scroll_id": None}


@endpoint("events.get_multi_task_plots")
async def get_multi_task_plots(call: Call) -> dict[str, Any]:
    """`{plots: {metric: {variant: {task: {iter: {name, plots}}}}}, returned, total, scroll_id}`."""
    tasks = await _readable(call, _task_list(call))
    names = {t.id: t.name for t in tasks}
    events = await latest_plots(call.ctx.pool, tasks, _positive(call, "iters", 1),
                                metric_filter(call.data.get("metrics")))
    plots: dict[str, Any] = {}
    for event in events:
        by_task = plots.setdefault(event["metric"], {}).setdefault(event["variant"], {})
        entry = by_task.setdefault(event["task"], {}).setdefault(str(event.get("iter")),
                                                                  {"name": names[event["task"]], "plots": []})
        entry["plots"].append(event)
    return {"plots": plots, "returned": len(events), "total": len(events), "scroll_id": None}


def _invalid_scroll(scroll_id: str) -> ApiError:
    return ApiError(400, 1104, "Invalid scroll id", scroll_id=scroll_id)


def _events_request(call: Call) -> dict[str, Any]:
    """The request a `get_task_events` page continues: this one, or the one its scroll id started from."""
    scroll_id = call.data.get("scroll_id")
    if not scroll_id:
        first = {"task": require_task_id(call), "event_type": call.data.get("event_type"),
                 "order": "desc" if call.data.get("order") == "desc" else "asc", "metrics": call.data.get("metrics"),
                 "batch_size": _positive(call, "batch_size", DEFAULT_BATCH, MAX_BATCH), "after": None, "total": None}
        if _events_state(first) is None:
            raise validation_error("event_type must be a string and metrics a list of {metric, variants}")
        return first
    state = _events_state(decode_scroll(str(scroll_id)))
    if state is None:
        raise _invalid_scroll(str(scroll_id))
    return {**state, "batch_size": _positive(call, "batch_size", state["batch_size"], MAX_BATCH)}


def _integer(value: Any, minimum: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)


def _events_state(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `get_task_events` state a scroll id carries, every field checked (the id comes back from the client, so
    it is input like any other), or None when it is not a state this server wrote."""
    if state is None or not isinstance(state.get("task"), str):
        return None
    after, metrics = state.get("after"), state.get("metrics")
    valid = (
        (state.get("event_type") is None or isinstance(state["event_type"], str))
        and state.get("order") in ("asc", "desc")
        and (metrics is None or (isinstance(metrics, list) and all(isinstance(m, dict) for m in metrics)))
        and _integer(state.get("batch_size"), 1) and state["batch_size"] <= MAX_BATCH
        and (after is None or (isinstance(after, list) and len(after) == 2 and _integer(after[1])
                               and (after[0] is None or _integer(after[0]))))
        and (state.get("total") is None or _integer(state["total"], 0))
    )
    keys = ("task", "event_type", "order", "metrics", "batch_size", "after", "total")
    return {key: state.get(key) for key in keys} if valid else None


@endpoint("events.get_task_events")
async def get_task_events(call: Call) -> dict[str, Any]:
    """`{events, returned, total, scroll_id}`: the task's events (of `event_type`) in iteration order, `order`
    asc (default) or desc, `batch_size` at a time; pass `scroll_id` back for the next page."""
    request = _events_request(call)
    task = (await _readable(call, [request["task"]]))[0]
    metrics = metric_filter(request["metrics"])
    if request["total"] is None:
        request["total"] = await count_events(call.ctx.pool, task, request["event_type"], metrics)
    after = request["after"]
    if call.data.get("scroll_id") and after is None:
        return {"events": [], "returned": 0, "total": request["total"], "scroll_id": call.data["scroll_id"]}
    page = await task_events_page(call.ctx.pool, task, request["event_type"], request["order"] != "desc",
                                  request["batch_size"], None if after is None else (after[0], after[1]), metrics)
    request["after"] = list(page.after) if page.after else None
    return {"events": page.events, "returned": len(page.events), "total": request["total"],
            "scroll_id": encode_scroll(request)}


@endpoint("events.get_scalar_metric_data")
async def get_scalar_metric_data(call: Call) -> dict[str, Any]:
    """`{events, returned, total, scroll_id}`: the scalar events of one metric, latest iteration first."""
    call.data.setdefault("event_type", "training_stats_scalar")
    call.data.setdefault("order", "desc")
    if call.data.get("metric") and not call.data.get("scroll_id"):
        call.data["metrics"] = [{"metric": call.data["metric"]}]
    return await get_task_events(call)


def _image_targets(call: Call) -> dict[str, list[dict[str, Any]]]:
    requested = call.data.get("metrics")
    if not isinstance(requested, list) or not requested:
        raise ApiError(400, 11, "metrics")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for item in requested:
        if not isinstance(item, dict) or not isinstance(item.get("task"), str):
            raise validation_error("every metric needs a task")
        by_task.setdefault(item["task"], [])
        if item.get("metric"):
            by_task[item["task"]].append(item)
    return by_task


@endpoint("events.debug_images")
async def debug_images(call: Call) -> dict[str, Any]:
    """`{metrics: [{task, iterations: [{iter, events}]}], scroll_id}`: per task, the debug images of the next
    `iters` (default 1) iterations, latest first unless `navigate_earlier` is false; `refresh` starts over."""
    targets = _image_targets(call)
    tasks = await _readable(call, list(targets))
    state: dict[str, Any] = {}
    if call.data.get("scroll_id") and not call.data.get("refresh"):
        decoded = decode_scroll(str(call.data["scroll_id"])) or {}
        # task id -> the iteration the previous page ended at (an integer); anything else is not ours
        state = {task: bound for task, bound in decoded.items() if isinstance(task, str) and _integer(bound)}
    earlier = call.data.get("navigate_earlier", True) is not False
    iters = _positive(call, "iters", 1)
    answer = []
    for task in tasks:
        iterations = await image_iterations(call.ctx.pool, task, metric_filter(targets[task.id]), iters, earlier,
                                            state.get(task.id))
        if iterations:
            state[task.id] = iterations[-1]["iter"] if earlier else iterations[0]["iter"]
        answer.append({"task": task.id, "iterations": iterations})
    return {"metrics": answer, "scroll_id": encode_scroll(state)}
