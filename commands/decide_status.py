"""Pure decisions for the status calls (§4): started, stop, stopped, failed, close, completed, publish, reset,
delete. Every status change writes the common fields of §4.2 plus the call's own (§4.4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from taskstream.commands.decide_task import writable
from taskstream.commands.messages import ChangeStatus, DeleteTask, ResetTask
from taskstream.commands.task_document import artifact_id, default_script
from taskstream.commands.transitions import check_transition
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, invalid_task_id, invalid_task_status
from taskstream.schemas.events import (
    Event,
    TaskClosed,
    TaskCompleted,
    TaskDeleted,
    TaskFailed,
    TaskMarkedStopped,
    TaskPublished,
    TaskReset,
    TaskStarted,
    TaskStatusChanged,
    TaskStopped,
    TaskStopRequested,
)

# A task is "run by a worker" while its worker reported within this window (apiserver.workers.task_update_timeout).
WORKER_TIMEOUT = timedelta(seconds=600)

CALLS: dict[str, tuple[str, type[TaskStatusChanged]]] = {
    "started": ("in_progress", TaskStarted),
    "stopped": ("stopped", TaskMarkedStopped),
    "failed": ("failed", TaskFailed),
    "close": ("closed", TaskClosed),
    "completed": ("completed", TaskCompleted),
}


def status_change(doc: dict[str, Any], new_status: str, reason: str | None, message: str | None,
                  now: datetime) -> tuple[dict[str, Any], list[str]]:
    """The fields every status change writes (§4.2), and the quiet paths (list pulls not echoed in `fields`)."""
    stamp = iso(now)
    changes: dict[str, Any] = {
        "status": new_status, "status_reason": reason or "", "status_message": message or "",
        "status_changed": stamp, "last_update": stamp, "last_change": stamp,
    }
    quiet: list[str] = []
    if new_status == "queued" and "development" in doc.get("system_tags", []):
        changes["system_tags"] = [t for t in doc["system_tags"] if t != "development"]
        quiet.append("system_tags")
    return changes, quiet


def decide_status(doc: dict[str, Any] | None, command: ChangeStatus, company: str, now: datetime) -> list[Event]:
    """started, stopped, failed, close, completed."""
    task = writable(doc, command.task, company)
    new_status, event_type = CALLS[command.call]
    check_transition(task["status"], new_status, force=command.force)
    changes, quiet = status_change(task, new_status, command.status_reason, command.status_message, now)
    if command.call == "started" and not task.get("started"):
        changes["started"] = iso(now)
    if command.call in ("stopped", "completed"):
        changes["completed"] = iso(now)
    return [event_type(set=changes, quiet=quiet, status=new_status, previous_status=task["status"],
                       force=command.force)]


def run_by_live_worker(task: dict[str, Any], now: datetime) -> bool:
    last_update = task.get("last_update")
    if not task.get("last_worker") or not isinstance(last_update, str):
        return False
    return now - datetime.fromisoformat(last_update) < WORKER_TIMEOUT


def decide_stop(doc: dict[str, Any] | None, command: ChangeStatus, company: str, user_name: str,
                now: datetime) -> list[Event]:
    """Stop at once unless a live worker runs a non-development task: then ask it ("stopping") (§5.21)."""
    task = writable(doc, command.task, company)
    check_transition(task["status"], "stopped", force=command.force)
    immediate = task["status"] == "queued" or "development" in task.get("system_tags", []) \
        or not run_by_live_worker(task, now)
    if immediate:
        changes, _ = status_change(task, "stopped", command.status_reason, f"Stopped by {user_name}", now)
        return [TaskStopped(set=changes, status="stopped", previous_status=task["status"], force=command.force)]
    changes, _ = status_change(task, task["status"], command.status_reason, "stopping", now)
    return [TaskStopRequested(set=changes, status=task["status"], previous_status=task["status"],
                              force=command.force)]


def decide_publish(doc: dict[str, Any] | None, command: ChangeStatus, company: str, now: datetime) -> list[Event]:
    task = writable(doc, command.task, company)
    if not command.force and task["status"] == "published":
        raise invalid_task_status("Invalid status change", current_status="published", new_status="published")
    # The reference checks the move to `published` itself before writing `publishing` (publish_task).
    check_transition(task["status"], "published", force=command.force)
    changes, _ = status_change(task, "published", command.status_reason, command.status_message, now)
    changes["published"] = iso(now)
    changes["output"] = task.get("output", {})
    return [TaskPublished(set=changes, status="published", previous_status=task["status"], force=command.force)]


def file_urls(doc: dict[str, Any] | None, output_only: bool) -> dict[str, list[str]]:
    """The `urls` of reset/delete with `return_file_urls` (§5.14, §5.16) as far as the task's document tells: the
    URIs of its artifacts (reset only removes output ones); the handler fills `model_urls` and `event_urls`."""
    artifacts = ((doc or {}).get("execution") or {}).get("artifacts") or []
    uris = [a["uri"] for a in artifacts
            if a.get("uri") and (not output_only or a.get("mode", "output") == "output")]
    return {"model_urls": [], "event_urls": [], "artifact_urls": uris}


def reset_fields(fields: dict[str, Any], doc: dict[str, Any] | None, command: ResetTask) -> dict[str, Any]:
    """The `fields` of a reset's answer in the reference's shapes: a cleared execution echoes its artifacts as the
    stored map, `{}`; with `echo_artifacts` (reset_many, whose reference code misses reset's pop of them) the kept
    input artifacts are echoed as that map, `{<id>: artifact}`, when the task had artifacts."""
    if isinstance(fields.get("execution"), dict):
        fields = {**fields, "execution": {**fields["execution"], "artifacts": {}}}
    artifacts = ((doc or {}).get("execution") or {}).get("artifacts") or []
    if command.echo_artifacts and artifacts and not command.clear_all:
        kept = [a for a in artifacts if a.get("mode") == "input"]
        fields = {**fields, "execution.artifacts": {artifact_id(a): a for a in kept}}
    return fields


def decide_reset(doc: dict[str, Any] | None, command: ResetTask, company: str, now: datetime,
                 published_children: int = 0) -> list[Event]:
    """Back to `created`, clearing what the run produced (§5.14). Dequeueing is the handler's part."""
    task = writable(doc, command.task, company)
    status = task["status"]
    if not command.force:
        if status == "published":
            raise invalid_task_status(task_id=command.task, status=status)
        if published_children:
            raise ApiError(400, 123, "has children, use force=True", task=command.task, children=published_children)
        if status == "publishing":
            raise invalid_task_id("or task published", company=company, id=command.task)
    check_transition(status, "created", force=command.force)
    changes, quiet = status_change(task, "created", "reset", "reset", now)
    changes.update({"last_iteration": 0, "last_metrics": {}, "unique_metrics": [], "metric_stats": {},
                    "models.output": [], "runtime": {}})
    unset = ["output.result", "output.error", "last_worker", "last_worker_report", "started", "completed",
             "published", "active_duration", "enqueue_status", "execution.queue"]
    if command.clear_all:
        changes["execution"] = {"test_split": 0, "parameters": {}, "model_desc": {}, "model_labels": {},
                                "artifacts": []}
        # The reference removes `script`, which then reads back as the default script: store that default.
        changes["script"] = default_script()
        unset = [u for u in unset if u != "execution.queue"]
    else:
        artifacts = task.get("execution", {}).get("artifacts", [])
        changes["execution.artifacts"] = [a for a in artifacts if a.get("mode") == "input"]
        quiet.append("execution.artifacts")
    return [TaskReset(set=changes, unset=unset, quiet=quiet, status="created", previous_status=status,
                      force=command.force, cleared_all=command.clear_all)]


def decide_delete(doc: dict[str, Any] | None, command: DeleteTask, company: str,
                  published_children: int = 0) -> list[Event]:
    task = writable(doc, command.task, company)
    status = task["status"]
    archived = "archived" in task.get("system_tags", [])
    if not command.force:
        if archived and status in ("published", "publishing"):
            raise invalid_task_id("or task published", company=company, id=command.task)
        if status != "created" and not archived:
            raise ApiError(400, 123, "due to status, use force=True", task=command.task, expected="created",
                           current=status)
        if published_children:
            raise ApiError(400, 123, "has children, use force=True", task=command.task, children=published_children)
    return [TaskDeleted(force=command.force)]
