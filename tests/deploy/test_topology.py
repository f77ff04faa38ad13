"""The local cluster (deploy/cluster) and deploy/compose.yaml describe one topology: the same services, the same
settings of every taskstream process, the same number of replicas and the same health check; and the cluster's
pure parts (port layout, process list, HAProxy configuration) hold their promises. Nothing is started here: the
short drill (`make drill-short`, run by .ci/run) is the cluster's integration test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil
import pytest
import yaml

from deploy.cluster import supervisor
from deploy.cluster.layout import (
    DEFAULT_BASE_PORT,
    DEFAULT_REPLICAS,
    HEALTH_PATH,
    SUBSCRIBERS,
    TOPIC_PREFIX,
    Cluster,
    Process,
    cluster_haproxy_config,
    compose_haproxy_config,
    ports_for,
    taskstream_processes,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
CREDENTIALS = ("TSACCESS", "secret")


def _cluster(tmp_path: Path, replicas: int = DEFAULT_REPLICAS) -> Cluster:
    return Cluster(tmp_path, replicas)


def _processes(cluster: Cluster) -> dict[str, tuple[str, ...]]:
    return {p.name: p.argv for p in taskstream_processes(cluster, "taskstream", "pw", CREDENTIALS)}


def _verb(argv: list[str] | tuple[str, ...]) -> list[str]:
    """A command without the program, its values of --host/--port/--kafka (addresses differ by design)."""
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--host", "--port", "--kafka"):
            words.append(word)
            skip = True
        elif word != "taskstream":
            words.append(word)
    return words


def test_cluster_and_compose_name_the_same_services(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    assert set(COMPOSE) == {"postgres", "kafka", "haproxy", *_processes(cluster)}


def test_compose_runs_the_default_number_of_replicas(tmp_path: Path) -> None:
    replicas = sorted(name for name in COMPOSE if name.startswith("api-"))
    assert replicas == _cluster(tmp_path).api_names()
    assert len(replicas) == DEFAULT_REPLICAS


def test_every_taskstream_process_runs_the_same_command(tmp_path: Path) -> None:
    for name, argv in _processes(_cluster(tmp_path)).items():
        assert _verb(COMPOSE[name]["command"]) == _verb(argv), name


def test_every_taskstream_process_gets_the_same_settings(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    for process in taskstream_processes(cluster, "taskstream", "pw", CREDENTIALS):
        compose_env = COMPOSE[process.name]["environment"]
        assert set(compose_env) == set(process.env), process.name
        for key in ("TASKSTREAM_SUBSCRIBERS", "TASKSTREAM_KAFKA_TOPIC_PREFIX"):
            assert compose_env[key] == process.env[key], (process.name, key)
        ours = urlsplit(process.env["TASKSTREAM_DATABASE_URL"])
        theirs = urlsplit(compose_env["TASKSTREAM_DATABASE_URL"])
        assert (ours.username, ours.path) == (theirs.username, theirs.path) == ("taskstream", "/taskstream")
        assert parse_qs(ours.query)["application_name"] == [process.name]
    assert (SUBSCRIBERS, TOPIC_PREFIX) == ("watchdog", "taskstream.")


def test_both_check_replica_health_on_the_same_path() -> None:
    for name in (n for n in COMPOSE if n.startswith("api-")):
        assert any(HEALTH_PATH in word for word in COMPOSE[name]["healthcheck"]["test"]), name
    assert f"option httpchk GET {HEALTH_PATH}" in compose_haproxy_config()


def test_compose_haproxy_reads_the_generated_configuration() -> None:
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in COMPOSE["haproxy"]["volumes"]
    assert (DEPLOY / "haproxy.cfg").read_text() == compose_haproxy_config(), \
        "regenerate: python -m deploy.cluster compose-haproxy > deploy/haproxy.cfg"


@pytest.mark.parametrize("replicas", [1, 2, 5, 32])
def test_ports_are_distinct_and_leave_the_development_ports_alone(replicas: int) -> None:
    ports = ports_for(DEFAULT_BASE_PORT, replicas)
    assert len(set(ports.all())) == len(ports.all()) == 5 + replicas
    assert not {8008, 9092, 9093} & set(ports.all())
    assert ports.haproxy == DEFAULT_BASE_PORT and ports.api[0] == DEFAULT_BASE_PORT + 11


def test_two_clusters_a_hundred_ports_apart_never_share_a_port() -> None:
    assert not set(ports_for(18000, 32).all()) & set(ports_for(18100, 32).all())


@pytest.mark.parametrize(("base", "replicas"), [(80, 2), (65530, 2), (18000, 0), (18000, 33)])
def test_a_layout_outside_the_limits_is_refused(base: int, replicas: int) -> None:
    with pytest.raises(ValueError):
        ports_for(base, replicas)


def test_each_replica_listens_on_its_own_port_and_every_process_names_itself(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, 3)
    processes = taskstream_processes(cluster, "taskstream", "pw", CREDENTIALS)
    apis = [p for p in processes if p.name.startswith("api-")]
    assert [p.port for p in apis] == list(cluster.ports.api)
    assert [p.argv[p.argv.index("--port") + 1] for p in apis] == [str(port) for port in cluster.ports.api]
    assert {p.name for p in processes} == {"api-1", "api-2", "api-3", "relay-1", "relay-2", "audit"}
    assert all(p.env["TASKSTREAM_DATABASE_URL"].endswith(f"application_name={p.name}") for p in processes)


def test_haproxy_retries_only_reads_and_calls_with_an_idempotency_key(tmp_path: Path) -> None:
    config = cluster_haproxy_config(_cluster(tmp_path, 3))
    assert "retry-on conn-failure empty-response response-timeout 503" in config
    assert "option redispatch 1" in config and "option http-buffer-request" in config
    assert "http-request disable-l7-retry unless idempotent_key or read_call !takes_a_task" in config
    assert config.count("    server api-") == 3


@pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                    reason="HAProxy is not installed")
def test_haproxy_accepts_the_generated_configuration(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    cluster.run.mkdir(parents=True)
    cluster.haproxy_config.write_text(cluster_haproxy_config(cluster))
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    checked = subprocess.run([haproxy, "-c", "-f", str(cluster.haproxy_config)], capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_process_is_recognised_by_its_command_line_whatever_the_clock_did(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    sleeper = Process("sleeper", (sys.executable, "-c", "import time; time.sleep(60)", "cluster-test"))
    pid = supervisor.start(cluster, sleeper)
    try:
        assert supervisor.pid_of(cluster, "sleeper") == pid
        assert supervisor.start(cluster, sleeper) == pid, "up is idempotent: a running process is not started again"
        record = json.loads((cluster.run / "sleeper.pid").read_text())
        (cluster.run / "sleeper.pid").write_text(json.dumps({**record, "argv": ["other", "program"]}))
        assert supervisor.pid_of(cluster, "sleeper") is None, "a pid running another command is not ours"
        (cluster.run / "sleeper.pid").write_text(json.dumps(record))
    finally:
        supervisor.stop(cluster, "sleeper")
    assert supervisor.pid_of(cluster, "sleeper") is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
