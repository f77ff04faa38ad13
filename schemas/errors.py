"""ClearML API errors: (HTTP code, subcode, default message), and the message format of the reference server.

An `ApiError` is a rejection: `decide` functions raise it, the api layer turns it into the error envelope,
batch endpoints turn it into a `failed` item. Its `data` is the error's keyword values (shown in batch items).
"""

from __future__ import annotations

from typing import Any

_DEFAULTS: dict[tuple[int, int], str] = {
    (400, 0): "",
    (400, 2): "Request path has invalid version",
    (400, 6): "Impersonation error",
    (400, 11): "Missing required fields",
    (400, 12): "Validation error",
    (400, 14): "Fields not defined for object",
    (400, 15): "Conflicting fields",
    (400, 16): "Invalid value for fields",
    (400, 21): "Malformed regular expression",
    (400, 101): "Invalid task id",
    (400, 110): "Invalid task status",
    (400, 121): "Failed changing task status. probably someone changed it before you",
    (400, 122): "Task is missing expected fields",
    (400, 123): "Task cannot be deleted",
    (400, 201): "Invalid model id",
    (400, 203): "Model is ready",
    (400, 205): "Model is used by tasks",
    (400, 206): "Task that created this model exists",
    (400, 401): "Invalid project id",
    (400, 403): "Project has associated tasks",
    (400, 405): "Project with the same name already exists",
    (400, 407): "Invalid project name",
    (400, 409): "Project path exceed the maximum allowed depth",
    (400, 701): "Invalid queue id",
    (400, 702): "Queue is not empty",
    (400, 703): "Invalid queue id or task not in queue",
    (400, 705): "Queue with this name already exists",
    (400, 706): "Failed adding task to queue since task is already queued",
    (400, 707): "No queue is tagged as the default queue for this company",
    (400, 708): "More than one queue is tagged as the default queue for this company",
    (400, 800): "Data validation error",
    (401, 10): "Unauthorized (bad authentication header type)",
    (401, 20): "Unauthorized (missing credentials)",
    (401, 21): "Unauthorized (malformed credentials)",
    (401, 22): "Unauthorized (invalid credentials)",
    (401, 30): "Invalid token",
    (301, 1): "This endpoint is no longer supported for the requested API version",
    (403, 21): "Forbidden (modification not allowed)",
    (404, 0): "",
    (500, 0): "",
    (500, 1): "Internal server error",
}


def _format_value(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


class ApiError(Exception):
    """A ClearML error: `code`/`subcode` go to the envelope, `msg` is the reference server's message text."""

    def __init__(self, code: int, subcode: int, extra: str | None = None, **data: Any) -> None:
        self.code = code
        self.subcode = subcode
        self.data = data
        default = _DEFAULTS.get((code, subcode), "")
        parts = [default[:1].upper() + default[1:]] if default else []
        if extra:
            parts.append(f"({extra})" if default else extra)
        msg = " ".join(parts)
        if data:
            msg += ": " + ", ".join(f"{k}={_format_value(v)}" for k, v in data.items())
        self.msg = msg
        super().__init__(msg)


def validation_error(extra: str, **data: Any) -> ApiError:
    return ApiError(400, 12, extra, **data)


def invalid_task_id(extra: str | None = None, **data: Any) -> ApiError:
    return ApiError(400, 101, extra, **data)


def invalid_task_status(extra: str | None = None, **data: Any) -> ApiError:
    return ApiError(400, 110, extra, **data)


def forbidden_public(task_id: str) -> ApiError:
    return ApiError(403, 21, f"cannot modify public task(s), ids=('{task_id}',)")
