"""The cluster's shape as data, with no side effects: which processes run, on which ports, with which settings, and
the HAProxy configuration in front of the API replicas. `deploy/compose.yaml` describes the same topology (checked
by tests/deploy/test_topology.py), so a change here goes there too.

Ports, from `base_port` (default 18000, away from the development server's 8008 and the shared broker's 9092):
base = HAProxy's front end (the cluster's API URL), base+1 = HAProxy's stats page, base+2 = PostgreSQL,
base+3/base+4 = the Kafka broker's client and controller ports, base+11 … base+10+N = the API replicas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HEALTH_PATH = "/health/ready"
DEFAULT_BASE_PORT = 18000
DEFAULT_REPLICAS = 2
MAX_REPLICAS = 32
DATABASE = "taskstream"
ROLE = "taskstream"
# Background work runs in dedicated processes (relay, audit); the watchdog stays in each replica: it re-checks every
# task under its lock, so several replicas may run it (README, "Non-responsive tasks").
SUBSCRIBERS = "watchdog"
TOPIC_PREFIX = "taskstream."


@dataclass(frozen=True)
class Ports:
    haproxy: int
    stats: int
    postgres: int
    kafka: int
    kafka_controller: int
    api: tuple[int, ...]

    def all(self) -> list[int]:
        return [self.haproxy, self.stats, self.postgres, self.kafka, self.kafka_controller, *self.api]


def ports_for(base_port: int, replicas: int) -> Ports:
    """The port of every listener; raises ValueError when they would leave the unprivileged port range."""
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"replicas must be between 1 and {MAX_REPLICAS}, not {replicas}")
    if not 1024 <= base_port <= 65535 - 10 - MAX_REPLICAS:
        raise ValueError(f"base port {base_port} is outside 1024..{65535 - 10 - MAX_REPLICAS}")
    return Ports(haproxy=base_port, stats=base_port + 1, postgres=base_port + 2, kafka=base_port + 3,
                 kafka_controller=base_port + 4, api=tuple(base_port + 10 + i for i in range(1, replicas + 1)))


@dataclass(frozen=True)
class Process:
    """One process of the cluster: `argv` run with `env` added to the environment; `port` its listener (if any);
    `health` how `status` checks it: "http" (GET `/health/ready`), "tcp", "postgres", "relay" or "process"."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    health: str = "process"


@dataclass(frozen=True)
class Cluster:
    state_dir: Path
    replicas: int = DEFAULT_REPLICAS
    base_port: int = DEFAULT_BASE_PORT
    host: str = "127.0.0.1"

    @property
    def ports(self) -> Ports:
        return ports_for(self.base_port, self.replicas)

    @property
    def url(self) -> str:
        """The cluster's API, through HAProxy."""
        return f"http://{self.host}:{self.ports.haproxy}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.ports.kafka}"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run(self) -> Path:
        return self.state_dir / "run"

    @property
    def pgdata(self) -> Path:
        return self.state_dir / "postgres"

    @property
    def kafka_data(self) -> Path:
        return self.state_dir / "kafka"

    @property
    def haproxy_config(self) -> Path:
        return self.run / "haproxy.cfg"

    @property
    def haproxy_socket(self) -> Path:
        return self.run / "haproxy.sock"

    def api_names(self) -> list[str]:
        return [f"api-{i}" for i in range(1, self.replicas + 1)]

    def database_url(self, password: str, application: str) -> str:
        """The application role's URL over TCP; `application_name` names the process in pg_stat_activity (the
        drill and `status` find the active relay by it)."""
        return (f"postgresql://{ROLE}:{password}@{self.host}:{self.ports.postgres}/{DATABASE}"
                f"?application_name={application}")


def taskstream_env(cluster: Cluster, password: str, application: str, credentials: tuple[str, str]
                   ) -> dict[str, str]:
    """The settings every taskstream process of the cluster gets (the same names as compose.yaml's)."""
    return {
        "TASKSTREAM_DATABASE_URL": cluster.database_url(password, application),
        "TASKSTREAM_SUBSCRIBERS": SUBSCRIBERS,
        "TASKSTREAM_HOME": str(cluster.state_dir / "home"),
        "TASKSTREAM_FILES_ROOT": str(cluster.state_dir / "files"),
        "TASKSTREAM_ACCESS_KEY": credentials[0],
        "TASKSTREAM_SECRET_KEY": credentials[1],
        "TASKSTREAM_KAFKA_TOPIC_PREFIX": TOPIC_PREFIX,
    }


def taskstream_processes(cluster: Cluster, taskstream: str, password: str, credentials: tuple[str, str]
                         ) -> list[Process]:
    """The API replicas, the two relays and the audit subscriber (`taskstream` is the command's path)."""
    def env(name: str) -> dict[str, str]:
        return taskstream_env(cluster, password, name, credentials)

    apis = [Process(name, (taskstream, "serve", "--host", cluster.host, "--port", str(port)), env(name), port, "http")
            for name, port in zip(cluster.api_names(), cluster.ports.api, strict=True)]
    relays = [Process(name, (taskstream, "relay", "--kafka", cluster.kafka_bootstrap), env(name), None, "relay")
              for name in ("relay-1", "relay-2")]
    audit = Process("audit", (taskstream, "subscribe", "audit", "--kafka", cluster.kafka_bootstrap), env("audit"))
    return [*apis, *relays, audit]


def haproxy_config(servers: list[tuple[str, str]], bind: str, stats_bind: str, admin_socket: str) -> str:
    """HAProxy in front of the replicas.

    * Health: `GET /health/ready` every second (2 s to answer); a replica is out after 3 failures (its database is
      unreachable, it is draining, or it died) and back after 2 successes. A killed replica is also taken out at
      once by the first connection to it that fails (`observe layer4`), so the checks can be lenient with a
      replica that is only slow (a busy machine).
    * Retries (why they are safe): a ClearML call is a POST. HAProxy retries one (up to 3 times, on another replica:
      `option redispatch 1`) when the connection failed, the replica closed it without answering (killed mid-
      request), or answered 503 — but only a read (`*.get_*` other than `get_next_task`, which takes a task) or a
      call carrying an `Idempotency-Key`: the server answers a repeated key with the first answer and writes
      nothing again. Every other POST is sent once; its client decides.
    * L7 retries need the whole request in HAProxy's buffer (`option http-buffer-request`; bodies above
      `tune.bufsize`, 64 KiB here, are not retried).
    * `stats socket` (admin) drains a replica for a rolling restart (deploy/README.md).
    """
    lines = "\n".join(f"    server {name} {address} check inter 1s fall 3 rise 2 observe layer4 error-limit 1 "
                      f"on-error mark-down" for name, address in servers)
    return f"""# Generated by deploy/cluster/layout.py (haproxy_config): change it there, not here.
global
    maxconn 4096
    tune.bufsize 65536
    stats socket {admin_socket} mode 600 level admin

defaults
    mode http
    log stdout format raw local0 info
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout queue 10s

frontend api
    bind {bind}
    default_backend replicas

frontend stats
    bind {stats_bind}
    stats enable
    stats uri /
    stats refresh 5s

backend replicas
    balance leastconn
    option http-buffer-request
    option httpchk GET {HEALTH_PATH}
    http-check expect status 200
    timeout check 2s
    retries 3
    retry-on conn-failure empty-response response-timeout 503
    option redispatch 1
    acl idempotent_key req.hdr(Idempotency-Key) -m found
    acl read_call path_reg \\.get_[a-z_]+$
    acl takes_a_task path_end .get_next_task
    http-request disable-l7-retry unless idempotent_key or read_call !takes_a_task
{lines}
"""


def cluster_haproxy_config(cluster: Cluster) -> str:
    servers = [(name, f"{cluster.host}:{port}") for name, port in zip(cluster.api_names(), cluster.ports.api,
                                                                      strict=True)]
    return haproxy_config(servers, f"{cluster.host}:{cluster.ports.haproxy}", f"{cluster.host}:{cluster.ports.stats}",
                          str(cluster.haproxy_socket))


# compose.yaml's HAProxy reads deploy/haproxy.cfg, this text (tests/deploy/test_topology.py keeps them equal;
# regenerate with `python -m deploy.cluster compose-haproxy > deploy/haproxy.cfg`).
COMPOSE_API_PORT = 8008


def compose_haproxy_config(replicas: int = DEFAULT_REPLICAS) -> str:
    servers = [(f"api-{i}", f"api-{i}:{COMPOSE_API_PORT}") for i in range(1, replicas + 1)]
    return haproxy_config(servers, f"*:{COMPOSE_API_PORT}", "*:8404", "/tmp/haproxy.sock")
