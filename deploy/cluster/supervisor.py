"""Processes of the cluster: started detached (a session of their own, so `cluster up` may exit), each with a pid
file `<state>/run/<name>.pid` (pid and command line, so a recycled pid is never taken for ours) and a log
`<state>/logs/<name>.log`. The Kafka broker is started and stopped by deploy/kafka/kafka.sh (its pid file is in
its data directory), PostgreSQL by pg_ctl (`deploy.cluster.postgres`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from deploy.cluster.layout import Cluster, Process

REPO = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = REPO / "deploy" / "kafka" / "kafka.sh"


def _pid_file(cluster: Cluster, name: str) -> Path:
    return cluster.run / f"{name}.pid"


def pid_of(cluster: Cluster, name: str) -> int | None:
    """The pid of the named process while it runs, else None.

    Why the command line and not the start time identifies it: psutil derives start times from the wall clock's
    idea of boot time, which moves when the clock is stepped (seen on a virtual machine that was resumed), and a
    running process then looked like a stranger. Our command lines name the cluster's ports and files, so a recycled
    pid never matches one."""
    try:
        recorded = json.loads(_pid_file(cluster, name).read_text())
        process = psutil.Process(int(recorded["pid"]))
        if process.status() == psutil.STATUS_ZOMBIE or not _runs(process.cmdline(), recorded["argv"]):
            return None
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None
    return process.pid


def _runs(cmdline: list[str], argv: list[str]) -> bool:
    """Whether `cmdline` runs `argv` (a script's interpreter may come first: `python3 .../taskstream serve ...`)."""
    return len(cmdline) >= len(argv) and cmdline[len(cmdline) - len(argv) + 1:] == argv[1:] \
        and Path(cmdline[len(cmdline) - len(argv)]).name == Path(argv[0]).name


def start(cluster: Cluster, process: Process) -> int:
    """Start `process` unless it runs; returns its pid."""
    running = pid_of(cluster, process.name)
    if running is not None:
        return running
    cluster.run.mkdir(parents=True, exist_ok=True)
    cluster.logs.mkdir(parents=True, exist_ok=True)
    with (cluster.logs / f"{process.name}.log").open("ab") as log:
        child = subprocess.Popen(process.argv, env={**os.environ, **process.env}, cwd=REPO, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _pid_file(cluster, process.name).write_text(json.dumps({"pid": child.pid, "argv": list(process.argv)}) + "\n")
    return child.pid


def stop(cluster: Cluster, name: str, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; a no-op when it does not run."""
    pid = pid_of(cluster, name)
    if pid is not None:
        _signal_and_wait(pid, timeout)
    _pid_file(cluster, name).unlink(missing_ok=True)


def _signal_and_wait(pid: int, timeout: float) -> None:
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(10)
    except psutil.NoSuchProcess:
        pass


def kill9(cluster: Cluster, name: str) -> None:
    """SIGKILL: no shutdown handler runs (the drill's crash)."""
    pid = pid_of(cluster, name)
    if pid is None:
        raise RuntimeError(f"{name} does not run")
    os.kill(pid, signal.SIGKILL)
    psutil.Process(pid).wait(10)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def kafka_env(cluster: Cluster) -> dict[str, str]:
    return {**os.environ, "KAFKA_DATA_DIR": str(cluster.kafka_data), "KAFKA_PORT": str(cluster.ports.kafka),
            "KAFKA_CONTROLLER_PORT": str(cluster.ports.kafka_controller)}


def kafka(cluster: Cluster, action: str) -> None:
    """`kafka.sh start|stop` for the cluster's own broker (never the shared one on 9092); its output goes to
    the cluster's kafka log."""
    cluster.logs.mkdir(parents=True, exist_ok=True)
    with (cluster.logs / "kafka-control.log").open("ab") as log:
        done = subprocess.run(["bash", str(KAFKA_SCRIPT), action], env=kafka_env(cluster), stdout=log,
                              stderr=subprocess.STDOUT, check=False, timeout=180)
    if done.returncode:
        raise RuntimeError(f"kafka.sh {action} failed: see {cluster.logs / 'kafka-control.log'}")


def kafka_pid(cluster: Cluster) -> int | None:
    try:
        pid = int((cluster.kafka_data / "kafka.pid").read_text().strip())
        return pid if psutil.pid_exists(pid) else None
    except (OSError, ValueError):
        return None


def wait_until(check: Callable[[], bool], seconds: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not within {seconds:.0f} s")
        time.sleep(interval)
