"""Endpoint handlers; importing this package registers them all."""

from api.endpoints import auth_server, projects, tasks_read, tasks_write

__all__ = ["auth_server", "projects", "tasks_read", "tasks_write"]
