"""Enumerations of the task model (tasks.conf `task_status_enum`, `task_type_enum`)."""

from __future__ import annotations

TASK_STATUSES = (
    "created", "queued", "in_progress", "stopped", "published", "publishing", "closed", "failed", "completed",
    "unknown",
)
TASK_TYPES = (
    "training", "testing", "inference", "data_processing", "application", "monitor", "controller", "optimizer",
    "service", "qc", "custom",
)
# API versions: the contract's maximum, and the version announced to clients in the login token.
MAX_API_VERSION = "2.22"
TOKEN_API_VERSION = "2.23"
SERVER_VERSION = "1.8.0"
