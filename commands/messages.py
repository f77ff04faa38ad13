"""Commands: what a caller asks for, in the imperative. Small frozen data classes built by the api layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CreateTask:
    fields: dict[str, Any]


@dataclass(frozen=True)
class EditTask:
    task: str
    fields: dict[str, Any]
    force: bool = False


@dataclass(frozen=True)
class UpdateTask:
    task: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class ChangeStatus:
    """One of the status calls: started, stop, stopped, failed, close, completed, publish."""

    call: str
    task: str
    force: bool = False
    status_reason: str | None = None
    status_message: str | None = None


@dataclass(frozen=True)
class ResetTask:
    task: str
    force: bool = False
    clear_all: bool = False


@dataclass(frozen=True)
class DeleteTask:
    task: str
    force: bool = False
    status_reason: str | None = None
    status_message: str | None = None


@dataclass(frozen=True)
class PingTask:
    task: str
