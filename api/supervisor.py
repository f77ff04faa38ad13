"""`taskstream serve --workers N`: N API processes on one port, kept at N.

The supervisor (the `serve` process, which also runs the embedded PostgreSQL) holds the port and starts N worker
processes (multiprocessing `spawn`: a fresh interpreter each, given only the settings); each listens on the port
with SO_REUSEPORT and the kernel spreads new connections over them (see `listen`). Every half
second it looks at them: a worker that died (killed -9, crashed) is replaced at once, or — when it died within
`QUICK_DEATH` seconds of its start, e.g. because the database was unreachable when it opened its pool — after a
pause that doubles up to `MAX_BACKOFF`, so a worker that cannot start does not spin.

Why a supervisor of our own rather than uvicorn's `--workers`: the workers run `api.lifecycle`'s drain phase, and
the supervisor forgets a dead worker's live metrics (`api.http_metrics`). On SIGTERM or SIGINT it sends SIGTERM to
every worker (each drains and shuts down gracefully) and waits for them, at most drain + shutdown timeout +
`STOP_MARGIN` seconds (then SIGKILL); `serve` stops the embedded PostgreSQL after that.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from taskstream.api.lifecycle import ServeSettings, run_worker

log = logging.getLogger("taskstream.supervisor")

MAX_WORKERS = 32
QUICK_DEATH = 10.0
MAX_BACKOFF = 30.0
STOP_MARGIN = 15.0


def parse_workers(value: str) -> int:
    """`--workers`: a number from 1 to MAX_WORKERS, or `auto` (this machine's cores, at most MAX_WORKERS)."""
    text = value.strip().lower()
    if text == "auto":
        return max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    if text.isdigit() and 1 <= int(text) <= MAX_WORKERS:
        return int(text)
    raise argparse.ArgumentTypeError(f"must be a number from 1 to {MAX_WORKERS}, or auto (also in TASKSTREAM_WORKERS; "
                                     f"got {value!r})")


def listen(host: str, port: int, backlog: int | None = 2048) -> socket.socket:
    """A socket bound to the address with SO_REUSEPORT, listening unless `backlog` is None (OSError when the
    address cannot be bound).

    Why each worker listens on a socket of its own (SO_REUSEPORT) rather than all accepting on one: the kernel then
    spreads new connections evenly over the workers; on one shared socket the worker that wakes first accepts a
    whole burst (asyncio accepts up to its backlog per wake-up), and 32 keep-alive clients connecting at once ended
    28 on one worker and 4 on the other. The supervisor holds the address with a bound socket that does not listen
    (it receives no connections), so a port in use is an error at start."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
        if backlog is not None:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass
class Slot:
    """One worker position: its current process and how quickly its predecessors died."""

    process: BaseProcess
    started: float
    quick_deaths: int = 0
    restart_at: float = 0.0


class Supervisor:
    def __init__(self, settings: ServeSettings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self.context = multiprocessing.get_context("spawn")
        self.slots: list[Slot] = []
        self.signal: int | None = None  # the signal that stops it (set by its handler, read by the loop)

    def run(self) -> int:
        """Serve until SIGTERM (returns 0) or SIGINT (returns 130), replacing workers that die."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.slots = [Slot(self._start(), time.monotonic()) for _ in range(self.workers)]
            while self.signal is None:
                time.sleep(0.5)
                self._replace_dead()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 130 if self.signal == signal.SIGINT else 0

    def _stop(self, signum: int, frame: object) -> None:
        # Only a plain assignment: a handler that took a lock could deadlock with the interrupted main thread.
        self.signal = signum

    def _start(self) -> BaseProcess:
        process = self.context.Process(target=run_worker, args=(self.settings,),
                                       name="taskstream-worker", daemon=False)
        process.start()
        return process

    def _replace_dead(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.process.is_alive() or self.signal is not None:
                continue
            if slot.restart_at == 0.0:  # just found dead
                slot.process.join()
                forget_process(slot.process.pid)
                quick = now - slot.started < QUICK_DEATH
                slot.quick_deaths = slot.quick_deaths + 1 if quick else 0
                pause = min(2.0 ** (slot.quick_deaths - 1), MAX_BACKOFF) if quick else 0.0
                log.warning("worker %s exited (%s); starting another%s", slot.process.pid,
                            _exit_status(slot.process.exitcode), f" in {pause:.0f} s" if pause else "")
                slot.restart_at = now + pause
            if now >= slot.restart_at:
                slot.process, slot.started, slot.restart_at = self._start(), now, 0.0

    def _stop_all(self) -> None:
        for slot in self.slots:
            if slot.process.is_alive() and slot.process.pid is not None:
                os.kill(slot.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.drain_seconds + self.settings.shutdown_timeout + STOP_MARGIN
        for slot in self.slots:
            slot.process.join(max(deadline - time.monotonic(), 0.1))
            if slot.process.is_alive():
                log.error("worker %s did not stop in time; killing it", slot.process.pid)
                slot.process.kill()
                slot.process.join()


def _exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:  # a real-time signal (SIGRTMIN+n) has no name: the supervisor must not fail on it
            return f"killed by signal {-code}"
    return f"exit code {code}"


def forget_process(pid: int | None) -> None:
    """Drop a dead worker's live gauges from the metrics directory (its counters stay: counts never go back)."""
    if pid is not None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
