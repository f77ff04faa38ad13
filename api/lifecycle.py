"""One API process's life: the app it serves, and its graceful shutdown.

On SIGTERM (or Ctrl-C) a process
1. starts draining: `/health/ready` answers 503 `draining` from now on;
2. keeps serving for TASKSTREAM_DRAIN_SECONDS (default 0), so a load balancer's health check takes it out of
   rotation before it stops accepting;
3. stops accepting (closes its listening socket; idle keep-alive connections are closed) and lets the requests in
   flight finish, for at most TASKSTREAM_SHUTDOWN_TIMEOUT seconds (default 30; those still running then are
   cancelled: a command's transaction rolls back, a retry with its Idempotency-Key is safe);
4. stops its background tasks, closes its database pool and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from taskstream.api.limits import env_int

log = logging.getLogger("taskstream.lifecycle")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported (api.http_metrics)

_draining = False


def draining() -> bool:
    """Whether this process is shutting down (it never stops draining once it started)."""
    return _draining


def start_draining() -> None:
    global _draining
    _draining = True


@dataclass(frozen=True)
class ServeSettings:
    """What every API process of `taskstream serve` needs (handed to worker processes, so plain data)."""

    database_url: str
    kafka: str | None
    home: str
    host: str
    port: int
    log_level: str
    log_format: str
    shutdown_timeout: int = 30
    drain_seconds: int = 0

    @staticmethod
    def timeouts_from_env() -> dict[str, int]:
        return {"shutdown_timeout": env_int("TASKSTREAM_SHUTDOWN_TIMEOUT", 30),
                "drain_seconds": env_int("TASKSTREAM_DRAIN_SECONDS", 0)}


@contextmanager
def metrics_directory() -> Iterator[None]:
    """A fresh, private directory for the metrics files of this server's processes, named in the environment
    (inherited by the workers) while the server runs and removed afterwards (`api.http_metrics`). Under an
    existing PROMETHEUS_MULTIPROC_DIR when one is set."""
    given = os.environ.get(MULTIPROC_ENV)
    directory = tempfile.mkdtemp(prefix="taskstream-metrics-", dir=given if given and os.path.isdir(given) else None)
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if given is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = given


class GracefulServer(uvicorn.Server):
    """uvicorn's server with the drain phase (steps 1 and 2 above) before its own graceful shutdown."""

    def __init__(self, config: uvicorn.Config, drain_seconds: int) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        start_draining()
        if self.drain_seconds:
            log.info("draining for %d s before closing the listener", self.drain_seconds)
        loop = asyncio.get_running_loop()
        until = loop.time() + self.drain_seconds
        while loop.time() < until and not self.force_exit:  # a second Ctrl-C ends the drain at once
            await asyncio.sleep(0.1)
        await super().shutdown(sockets)


def build_app(settings: ServeSettings) -> Any:
    """The ASGI app of one API process (its pool, contract and background tasks open in its lifespan)."""
    from taskstream.api.app import create_app
    from taskstream.api.files.storage import FileSettings
    from taskstream.api.server import context_factory

    files = FileSettings.from_env(Path(settings.home))
    return create_app(context_factory(settings.database_url, settings.kafka), files=files)


def uvicorn_config(settings: ServeSettings, app: Any, bind: bool) -> uvicorn.Config:
    """The uvicorn settings of an API process; `bind`: uvicorn binds the port (one process) rather than being
    handed the worker's listening socket."""
    from uvicorn.config import LOGGING_CONFIG

    where: dict[str, Any] = {"host": settings.host, "port": settings.port} if bind else {}
    # With JSON logs `api.log_format` has configured logging already; uvicorn's own configuration would replace it.
    return uvicorn.Config(app, log_level=settings.log_level, access_log=False, lifespan="on",
                          timeout_graceful_shutdown=settings.shutdown_timeout,
                          log_config=None if settings.log_format == "json" else LOGGING_CONFIG, **where)


def serve_in_process(settings: ServeSettings) -> None:
    """Serve with this one process (`--workers 1`); returns once it has shut down."""
    server = GracefulServer(uvicorn_config(settings, build_app(settings), bind=True), settings.drain_seconds)
    server.run()


def run_worker(settings: ServeSettings) -> None:
    """A worker process's entry (`api.supervisor`): listen on the port beside the other workers (SO_REUSEPORT)
    and serve until SIGTERM."""
    from taskstream.api.log_format import configure_logging
    from taskstream.api.supervisor import listen

    configure_logging(settings.log_format, settings.log_level)
    # uvicorn handles SIGTERM and SIGINT while it serves, then raises the signal again for the handler it found:
    # a no-op one here, so a worker that shut down gracefully exits 0 (not killed by its own signal).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore)
    threading.Thread(target=_stop_with_supervisor, args=(os.getppid(),), name="supervisor watch", daemon=True).start()
    server = GracefulServer(uvicorn_config(settings, build_app(settings), bind=False), settings.drain_seconds)
    server.run(sockets=[listen(settings.host, settings.port)])


def _ignore(signum: int, frame: object) -> None:
    """A signal that arrives after the server stopped (see `run_worker`)."""


def _stop_with_supervisor(supervisor: int) -> None:
    """A worker whose supervisor died (killed -9: nobody would replace or stop it) shuts down gracefully."""
    while os.getppid() == supervisor:
        time.sleep(1)
    log.warning("the supervisor (pid %d) is gone; shutting down", supervisor)
    os.kill(os.getpid(), signal.SIGTERM)
