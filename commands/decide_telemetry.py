"""Pure decisions for what clients report about a task (tasks-behaviour.md §8): telemetry batches
(`events.add_batch`) and worker status reports (`workers.status_report`).

A batch's events are normalised one by one (`normalize_event`: a bad event is counted as an error, the others go
on); the accepted events of one task become ONE `MetricsReported` event holding the task fields they imply.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskstream.commands.decide_task import active_duration
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import invalid_task_id
from taskstream.schemas.events import Event, MetricsReported, WorkerReported

SCALAR = "training_stats_scalar"
LOG = "log"
EVENT_TYPES = frozenset({SCALAR, "training_stats_vector", "training_debug_image", "plot", LOG})
LOCKED_STATUSES = ("published", "publishing")
MAX_UNIQUE_METRICS = 2000  # services.tasks.max_last_metrics of the reference server
MAX_LONG = 2**63 - 1
# The task fields a batch's decision reads (`accepts_events`, `is_locked`, `decide_metrics`), and all of those its
# `MetricsReported` writes below the top level: a batch loads only these (`CommandSession.load_many`).
DECIDING_FIELDS = ("company", "status", "started", "last_iteration", "last_metrics", "unique_metrics",
                   "metric_stats")
# Request flags the clients put on every line; they are not part of the stored event.
TRANSPORT_KEYS = ("method", "allow_locked", "model_event")


class RejectedEvent(ValueError):
    """An event of a batch that is not added; its message is the error's key in `errors_info`."""


@dataclass(frozen=True)
class ReportedEvent:
    """One accepted event: the stored document and whether the caller allowed writing to a locked task."""

    task: str
    type: str
    doc: dict[str, Any]
    allow_locked: bool


@functools.lru_cache(maxsize=4096)  # a training run reports the same few names in every batch
def field_hash(name: str) -> str:
    """The key under which a metric or variant name is stored in `last_metrics` / `metric_stats`."""
    return hashlib.md5(name.encode()).hexdigest()


def _integer(value: Any, error: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise RejectedEvent(error) from exc
    if not -MAX_LONG - 1 <= number <= MAX_LONG:
        raise RejectedEvent(f"Iteration number should not exceed {MAX_LONG}")
    return number


def normalize_event(raw: dict[str, Any], now_ms: int) -> ReportedEvent:
    """The event as stored (type without spaces, timestamp and metric/variant defaults, `iter` an int);
    raises `RejectedEvent` with the reference server's error key."""
    event_type = raw.get("type")
    if not isinstance(event_type, str):
        raise RejectedEvent("Event must have a 'type' field")
    event_type = event_type.replace(" ", "_")
    if event_type not in EVENT_TYPES:
        raise RejectedEvent(f"Invalid event type {event_type}")
    task = raw.get("task")
    if not isinstance(task, str):
        raise RejectedEvent("Event must have a 'task' field")
    doc = {k: v for k, v in raw.items() if k not in TRANSPORT_KEYS}
    doc["type"] = event_type
    if "ts" in doc:
        doc["timestamp"] = doc.pop("ts")
    doc["timestamp"] = _integer(doc.get("timestamp", now_ms), "Invalid timestamp")
    if doc.get("iter") is not None:
        doc["iter"] = _integer(doc["iter"], "Invalid iteration")
    if "values" in doc:
        doc["value"] = doc.pop("values")
    doc["metric"] = doc.get("metric") or ""
    doc["variant"] = doc.get("variant") or ""
    return ReportedEvent(task, event_type, doc, bool(raw.get("allow_locked")))


def accepts_events(doc: dict[str, Any] | None, company: str) -> bool:
    """Events are written only to the caller's own tasks (public ones are read-only)."""
    return doc is not None and doc.get("company") == company


def is_locked(doc: dict[str, Any]) -> bool:
    return doc.get("status") in LOCKED_STATUSES


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _last_scalars(events: list[ReportedEvent]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (metric, variant): the latest value by (iter, timestamp), with the batch's min and max."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        doc = event.doc
        value = _number(doc.get("value"))
        if event.type != SCALAR or value is None or not (doc["metric"] and doc["variant"]):
            continue
        key = (doc["metric"], doc["variant"])
        order = (doc.get("iter") or 0, doc["timestamp"])
        seen = latest.get(key)
        if seen is None:
            latest[key] = {"order": order, "value": value, "min_value": value, "max_value": value}
            continue
        seen["min_value"], seen["max_value"] = min(seen["min_value"], value), max(seen["max_value"], value)
        if order >= seen["order"]:
            seen["order"], seen["value"] = order, value
    return latest


def _metric_changes(task: dict[str, Any], events: list[ReportedEvent]) -> dict[str, Any]:
    """`last_metrics`, `unique_metrics` and `metric_stats` entries written by the batch (dotted paths)."""
    changes: dict[str, Any] = {}
    stored = task.get("last_metrics") or {}
    unique = list(task.get("unique_metrics") or [])
    known = set(unique)
    for (metric, variant), last in _last_scalars(events).items():
        m_hash, v_hash = field_hash(metric), field_hash(variant)
        previous = (stored.get(m_hash) or {}).get(v_hash) or {}
        changes[f"last_metrics.{m_hash}.{v_hash}"] = {
            "metric": metric, "variant": variant, "value": last["value"],
            "min_value": min(last["min_value"], previous.get("min_value", last["min_value"])),
            "max_value": max(last["max_value"], previous.get("max_value", last["max_value"])),
        }
        name = f"{metric}/{variant}"
        if name not in known and len(unique) < MAX_UNIQUE_METRICS:
            unique.append(name)
            known.add(name)
    if len(unique) != len(task.get("unique_metrics") or []):
        changes["unique_metrics"] = unique
    changes.update(_metric_stats(task, events))
    return changes


def _metric_stats(task: dict[str, Any], events: list[ReportedEvent]) -> dict[str, Any]:
    """`metric_stats` entries: per metric and event type, the latest timestamp reported so far."""
    newest: dict[str, dict[str, int]] = {}
    for event in events:
        metric = event.doc["metric"]
        if metric:
            seen, stamp = newest.setdefault(metric, {}), event.doc["timestamp"]
            seen[event.type] = max(seen.get(event.type, stamp), stamp)
    stats = task.get("metric_stats") or {}
    changes: dict[str, Any] = {}
    for metric, stamps in newest.items():
        m_hash = field_hash(metric)
        by_type = dict((stats.get(m_hash) or {}).get("event_stats_by_type") or {})
        for event_type, stamp in stamps.items():
            last = (by_type.get(event_type) or {}).get("last_update", 0)
            by_type[event_type] = {"last_update": max(last, stamp)}
        changes[f"metric_stats.{m_hash}"] = {"metric": metric, "event_stats_by_type": by_type}
    return changes


def decide_metrics(task: dict[str, Any], events: list[ReportedEvent], now: datetime) -> list[Event]:
    """The task fields implied by its accepted events of one batch, as one `MetricsReported` (§8)."""
    changes = _metric_changes(task, events)
    iterations = [e.doc["iter"] for e in events if e.doc.get("iter") is not None]
    if iterations and max(iterations) > (task.get("last_iteration") or 0):
        changes["last_iteration"] = max(iterations)
    stamp = iso(now)
    changes["last_update"] = changes["last_change"] = stamp
    duration = active_duration(task, now)
    if duration is not None:
        changes["active_duration"] = duration
    return [MetricsReported(set=changes)]


def decide_worker_report(doc: dict[str, Any] | None, task_id: str, company: str, worker: str,
                         now: datetime) -> list[Event]:
    """A worker reports running the task: `last_worker*`, `last_update`, `last_change` (§8); unknown → 400/101."""
    if doc is None or doc.get("company") != company:
        raise invalid_task_id(task_id=task_id)
    stamp = iso(now)
    return [WorkerReported(set={"last_worker": worker, "last_worker_report": stamp, "last_update": stamp,
                                "last_change": stamp}, worker=worker)]
