"""The UI's actions on tasks and queues: POST forms (CSRF-checked) that run the same command handlers as the API
endpoints, so each becomes the same events with the same history. A bulk action runs one command per task, each
in its own transaction (as the API's `*_many` calls), and reports how many succeeded and why the others failed.

Every action answers with a redirect back to the page it came from (`back`, a local path) and a one-time message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from taskstream.api.app import DATABASE_UNAVAILABLE
from taskstream.api.web.session import FLASH_COOKIE, FLASH_SAFE, WebSession, form_caller, plain_id, safe_next
from taskstream.commands.handlers import clone as clone_handler
from taskstream.commands.handlers import queues, task_queue, tasks
from taskstream.commands.messages import (
    ArchiveTask,
    ChangeStatus,
    ChooseQueue,
    CloneTask,
    DequeueTask,
    EditTask,
    EnqueueTask,
    MoveQueueEntry,
    RemoveQueueEntry,
    ResetTask,
    UnarchiveTask,
)
from taskstream.schemas.errors import ApiError

router = APIRouter()
MAX_IDS = 1000  # as TASKSTREAM_MAX_BATCH_IDS' default: one command per id
MAX_FIELD = 1000
REASON = "From the web UI"
FLASH_CHARS = 300  # percent-encoded, at most 3600 bytes: under a cookie's 4096
Run = Callable[[Any, WebSession, str, FormData], Awaitable[Any]]


def _text(form: FormData, name: str, limit: int = MAX_FIELD) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > limit:
        raise ApiError(400, 12, f"{name} is longer than {limit} characters")
    if "\x00" in value:  # PostgreSQL's text cannot hold it
        raise ApiError(400, 12, f"{name} holds a NUL character")
    return value.strip()


def _tags(form: FormData, name: str) -> list[str]:
    text = _text(form, name) or ""
    return [t.strip() for t in text.split(",") if t.strip()]


async def _stop(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    return await tasks.stop(ctx.commands, session.caller("tasks.stop"),
                            ChangeStatus("stop", task_id, False, _text(form, "reason") or REASON))


async def _enqueue(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    caller = session.caller("tasks.enqueue")
    queue_id = await queues.choose(ctx.commands, caller, ChooseQueue(_text(form, "queue"), None))
    return await task_queue.enqueue(ctx.commands, caller, EnqueueTask(task_id, False, REASON), queue_id)


async def _dequeue(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    return await task_queue.dequeue(ctx.commands, session.caller("tasks.dequeue"), DequeueTask(task_id, REASON))


async def _reset(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    return await tasks.reset(ctx.commands, session.caller("tasks.reset"), ResetTask(task_id))


async def _archive(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    return await task_queue.archive(ctx.commands, session.caller("tasks.archive_many"), ArchiveTask(task_id, REASON))


async def _unarchive(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    return await task_queue.unarchive(ctx.commands, session.caller("tasks.unarchive_many"),
                                      UnarchiveTask(task_id, REASON))


async def _publish(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    return await tasks.publish(ctx.commands, session.caller("tasks.publish"), ChangeStatus("publish", task_id))


async def _clone(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    command = CloneTask(task=task_id, name=_text(form, "clone_name"), project=_text(form, "clone_project", 128))
    return await clone_handler.clone(ctx.commands, session.caller("tasks.clone"), command)


async def _edit(ctx: Any, session: WebSession, task_id: str, form: FormData) -> Any:
    """Name, comment and tags (comma-separated, replacing the task's) from the non-empty `edit_*` fields."""
    fields: dict[str, Any] = {}
    if _text(form, "edit_name") is not None:
        fields["name"] = _text(form, "edit_name")
    if _text(form, "edit_comment", 10_000) is not None:
        fields["comment"] = _text(form, "edit_comment", 10_000)
    if _text(form, "edit_tags") is not None:
        fields["tags"] = _tags(form, "edit_tags")
    if not fields:
        raise ApiError(400, 12, "nothing to change: give a name, a comment or tags")
    return await tasks.edit(ctx.commands, session.caller("tasks.edit"), EditTask(task_id, fields))


ACTIONS: dict[str, tuple[Run, str]] = {
    "stop": (_stop, "Aborted"), "enqueue": (_enqueue, "Enqueued"), "dequeue": (_dequeue, "Dequeued"),
    "reset": (_reset, "Reset"), "archive": (_archive, "Archived"), "unarchive": (_unarchive, "Restored"),
    "publish": (_publish, "Published"), "clone": (_clone, "Cloned"), "edit": (_edit, "Saved"),
}


def back_to(request: Request, form: FormData, message: str, kind: str = "info") -> Response:
    back = form.get("back")
    back = back.strip() if isinstance(back, str) else ""
    response = RedirectResponse(safe_next(back) if back else "/tasks", status_code=303)
    # Percent-encoded: a header is Latin-1, and the message may quote what the form sent (read back by `render`).
    response.set_cookie(FLASH_COOKIE, quote(f"{kind}:{message}"[:FLASH_CHARS], safe=FLASH_SAFE), max_age=60,
                        httponly=True, samesite="strict", path="/")
    return response


def readable(error: ApiError) -> str:
    """An error as one line for people: the ClearML message without its envelope."""
    return error.msg or f"error {error.code}/{error.subcode}"


@router.post("/ui/tasks/{action}")
async def task_action(request: Request, action: str) -> Response:
    """Run `action` on every `ids` of the form (at most MAX_IDS); the message says how many succeeded and why the
    others failed (e.g. "Aborted 2 of 3 tasks. 1 failed: Invalid task status ...")."""
    session, form = await form_caller(request)
    if action not in ACTIONS:
        return back_to(request, form, f"Unknown action {action[:40]}", "error")
    run, done = ACTIONS[action]
    ids = list(dict.fromkeys(str(i) for i in form.getlist("ids") if isinstance(i, str) and plain_id(i)))
    if not ids:
        return back_to(request, form, "Select at least one task first.", "error")
    if len(ids) > MAX_IDS:
        return back_to(request, form, f"At most {MAX_IDS} tasks at a time.", "error")
    failures: dict[str, int] = {}
    for task_id in ids:
        try:
            await run(request.app.state.ctx, session, task_id, form)
        except ApiError as exc:
            failures[readable(exc)] = failures.get(readable(exc), 0) + 1
        except DATABASE_UNAVAILABLE:
            failures["the database cannot be reached; retry later"] = 1
            break
    succeeded = len(ids) - sum(failures.values())
    noun = "task" if len(ids) == 1 else "tasks"
    message = f"{done} {succeeded} of {len(ids)} {noun}." if len(ids) > 1 or failures else f"{done}."
    if failures:
        message += " Failed: " + "; ".join(f"{m} ({n})" if n > 1 else m for m, n in failures.items())
    return back_to(request, form, message, "error" if failures else "info")


def _queue(queue_id: str) -> str:
    if not plain_id(queue_id):
        raise ApiError(400, 12, "invalid queue id")
    return queue_id


@router.post("/ui/queues/{queue_id}/remove")
async def remove_entry(request: Request, queue_id: str) -> Response:
    """Take a task out of a queue (`queues.remove_task`; the task keeps its status)."""
    session, form = await form_caller(request)
    try:
        await queues.remove_task(request.app.state.ctx.commands, session.caller("queues.remove_task"),
                                 RemoveQueueEntry(_queue(queue_id), _text(form, "task", 128) or ""))
    except ApiError as exc:
        return back_to(request, form, f"Not removed: {readable(exc)}", "error")
    return back_to(request, form, "Removed from the queue.")


@router.post("/ui/queues/{queue_id}/move")
async def move_entry(request: Request, queue_id: str) -> Response:
    """Move a task to the front (runs next) or the back of a queue, as one queue event."""
    session, form = await form_caller(request)
    try:
        command = MoveQueueEntry(_queue(queue_id), _text(form, "task", 128) or "", form.get("to") == "front")
        await queues.move_task(request.app.state.ctx.commands, session.caller("queues.move_task"), command)
    except ApiError as exc:
        return back_to(request, form, f"Not moved: {readable(exc)}", "error")
    return back_to(request, form, "Moved to the front." if command.to_front else "Moved to the back.")
