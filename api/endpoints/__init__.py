"""Endpoint handlers; importing this package registers them all."""

from taskstream.api.endpoints import (
    auth_server,
    events,
    events_reads,
    models,
    projects,
    queues,
    tasks_clone,
    tasks_fields,
    tasks_history,
    tasks_many,
    tasks_many_fields,
    tasks_query,
    tasks_queue,
    tasks_read,
    tasks_write,
    workers,
)

__all__ = [
    "auth_server",
    "events",
    "events_reads",
    "models",
    "projects",
    "queues",
    "tasks_clone",
    "tasks_fields",
    "tasks_history",
    "tasks_many",
    "tasks_many_fields",
    "tasks_query",
    "tasks_queue",
    "tasks_read",
    "tasks_write",
    "workers",
]
