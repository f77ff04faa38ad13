"""`decide_metrics`: the task fields one batch of reported events implies (given a task, when a batch, then the
fields of its one `MetricsReported`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taskstream.commands.decide_telemetry import ReportedEvent, decide_metrics, field_hash, normalize_event
from taskstream.commands.evolve import evolve
from taskstream.schemas.events import MetricsReported

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TASK = {"id": "t", "company": "c", "status": "created", "last_iteration": 0}


def _scalar(metric: str, variant: str, value: float, iteration: int, stamp: int) -> ReportedEvent:
    return normalize_event({"type": "training_stats_scalar", "task": "t", "metric": metric, "variant": variant,
                            "value": value, "iter": iteration, "timestamp": stamp}, 0)


def _log(stamp: int) -> ReportedEvent:
    return normalize_event({"type": "log", "task": "t", "msg": "hello", "timestamp": stamp}, 0)


def _fold(task: dict[str, Any], *batches: list[ReportedEvent]) -> dict[str, Any]:
    for batch in batches:
        [event] = decide_metrics(task, batch, NOW)
        assert isinstance(event, MetricsReported)
        task = evolve(task, event) or {}
    return task


def test_last_metrics_keep_the_latest_value_and_the_extremes_across_batches() -> None:
    task = _fold(TASK, [_scalar("loss", "train", 5.0, 1, 10), _scalar("loss", "train", 0.5, 2, 11)],
                 [_scalar("loss", "train", 2.0, 3, 12), _scalar("loss", "train", 9.0, 0, 13)])

    assert task["last_metrics"][field_hash("loss")][field_hash("train")] == {
        "metric": "loss", "variant": "train", "value": 2.0, "min_value": 0.5, "max_value": 9.0}
    assert task["last_iteration"] == 3
    assert task["unique_metrics"] == ["loss/train"]


def test_metric_stats_keep_the_latest_timestamp_per_event_type() -> None:
    task = _fold(TASK, [_scalar("loss", "train", 1.0, 1, 30), _scalar("loss", "val", 1.0, 1, 20)],
                 [_scalar("loss", "train", 1.0, 2, 25), _log(40)])

    assert task["metric_stats"] == {field_hash("loss"): {
        "metric": "loss", "event_stats_by_type": {"training_stats_scalar": {"last_update": 30}}}}


def test_unique_metrics_grow_once_per_new_series() -> None:
    task = _fold(TASK, [_scalar("a", "x", 1.0, 1, 1), _scalar("a", "x", 2.0, 2, 2), _scalar("b", "y", 1.0, 1, 3)],
                 [_scalar("b", "y", 1.0, 2, 4)])

    assert task["unique_metrics"] == ["a/x", "b/y"]
    [event] = decide_metrics(task, [_scalar("a", "x", 1.0, 3, 5)], NOW)
    assert isinstance(event, MetricsReported) and "unique_metrics" not in event.set
