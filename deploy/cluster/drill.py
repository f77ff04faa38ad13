"""The failure drill (`make drill`; `make drill-short` in CI): 32 clients drive tasks through HAProxy while a
Kafka consumer follows the topics, and the drill, in sequence,

1. kills -9 one API replica, then restarts it;
2. kills -9 the active relay (the standby must take over);
3. stops the cluster's Kafka broker for a while (20 s; short form 5 s), then starts it;
4. restarts PostgreSQL (clients see 503s and retry).

Then it reads everything back (deploy.cluster.checks), prints a table and exits 1 if any figure is off. The full
form runs against the cluster of --state-dir (started if it does not run, and then stopped again); `--short` always
starts a cluster of its own in a temporary state dir and deletes it at the end, also on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.cluster import cli, postgres, supervisor
from deploy.cluster.checks import (
    KafkaFollower,
    compare_log,
    haproxy_resent,
    read_models_equal_replay,
    wait_for_audit,
    wait_for_kafka,
    whole_log,
)
from deploy.cluster.layout import Cluster
from deploy.cluster.load import Outage, Tally, client

CLIENTS = 32
TAKEOVER_LIMIT = 5.0
ROLLING = "rolling restart (drained first)"
# An outage that began within this many seconds after a fault ended is still that fault's.
GRACE = 5.0


@dataclass(frozen=True)
class Form:
    kafka_down: float  # seconds the broker stays stopped
    settle: float  # seconds of undisturbed load before each fault and at the end
    restart_all: bool  # the rolling restart covers every replica (else the last one only)


FULL = Form(kafka_down=20, settle=5, restart_all=True)
SHORT = Form(kafka_down=5, settle=1.5, restart_all=False)


@dataclass
class Fault:
    name: str
    began: float
    ended: float = 0.0


class Drill:
    def __init__(self, cluster: Cluster, form: Form) -> None:
        self.cluster = cluster
        self.form = form
        self.faults: list[Fault] = []
        self.takeover: float | None = None
        self.new_leader = ""

    async def _fault(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(self.form.settle)
        fault = Fault(name, time.monotonic())
        print(f"drill: {name}", flush=True)
        await work()
        fault.ended = time.monotonic()
        self.faults.append(fault)

    async def _replica(self) -> None:
        named = cli.by_name(self.cluster)
        victim = self.cluster.api_names()[0]
        supervisor.kill9(self.cluster, victim)
        supervisor.start(self.cluster, named[victim])
        await asyncio.to_thread(cli.wait_ready, self.cluster, named[victim])
        await self._until(lambda: cli.haproxy_servers(self.cluster).get(victim) == "UP", 30, f"{victim} UP")

    async def _rolling_restart(self) -> None:
        if self.form.restart_all:
            await asyncio.to_thread(cli.rolling_restart, self.cluster)
        else:
            await asyncio.to_thread(cli.restart_replica, self.cluster, self.cluster.api_names()[-1])

    async def _relay(self) -> None:
        active = await cli.active_relays(self.cluster)
        if len(active) != 1:
            raise RuntimeError(f"expected one active relay, found {active}")
        victim = active.pop()
        killed = time.monotonic()
        supervisor.kill9(self.cluster, victim)
        while not (leaders := await cli.active_relays(self.cluster) - {victim}):
            if time.monotonic() - killed > 30:
                raise RuntimeError("no relay took over within 30 s")
            await asyncio.sleep(0.05)
        self.takeover, self.new_leader = time.monotonic() - killed, leaders.pop()
        supervisor.start(self.cluster, cli.by_name(self.cluster)[victim])  # back, as the standby

    async def _kafka(self) -> None:
        await asyncio.to_thread(supervisor.kafka, self.cluster, "stop")
        await asyncio.sleep(self.form.kafka_down)
        await asyncio.to_thread(supervisor.kafka, self.cluster, "start")

    async def _postgres(self) -> None:
        await asyncio.to_thread(postgres.restart, self.cluster)
        await self._until(lambda: all(cli.http_health(self.cluster.host, port) == "ready"
                                      for port in self.cluster.ports.api), 60, "every replica ready again")

    @staticmethod
    async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not await asyncio.to_thread(check):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not within {seconds:.0f} s")
            await asyncio.sleep(0.2)

    async def faults_in_sequence(self) -> None:
        await self._fault("kill -9 an API replica, restart it", self._replica)
        await self._fault(ROLLING, self._rolling_restart)
        await self._fault("kill -9 the active relay", self._relay)
        await self._fault(f"stop Kafka for {self.form.kafka_down:.0f} s", self._kafka)
        await self._fault("restart PostgreSQL", self._postgres)
        await asyncio.sleep(self.form.settle)

    def fault_of(self, outage: Outage) -> Fault | None:
        """The fault an outage belongs to: the last one begun before its first failure was seen, if that fault had
        not ended GRACE seconds before. (By the failure, not the attempt's start: a call sent just before a fault
        fails in it.)"""
        begun = [f for f in self.faults if f.began <= outage.failed_at]
        return begun[-1] if begun and outage.failed_at <= begun[-1].ended + GRACE else None

    def worst_outage(self, fault: Fault, tally: Tally) -> tuple[float, int, str]:
        """The longest a call kept failing in this fault, how many calls failed, and what they got."""
        hit = [o for o in tally.outages if self.fault_of(o) is fault]
        reasons = ", ".join(f"{n}x {why}" for why, n in Counter(o.reason for o in hit).most_common(3))
        return max((o.ended - o.began for o in hit), default=0.0), len(hit), reasons

    def outside_faults(self, tally: Tally) -> str:
        """How many calls failed outside every fault, and what they got ("0" when none did)."""
        hit = [o for o in tally.outages if self.fault_of(o) is None]
        reasons = ", ".join(f"{n}x {why}" for why, n in Counter(o.reason for o in hit).most_common(3))
        return f"{len(hit)} ({reasons})" if hit else "0"


async def run(cluster: Cluster, form: Form) -> int:
    drill = Drill(cluster, form)
    auth = cli.credentials(cluster)
    follower = KafkaFollower(cluster.kafka_bootstrap)
    following = asyncio.create_task(follower.run())
    tally, stop = Tally(), asyncio.Event()
    haproxy_log = cluster.logs / "haproxy.log"
    log_offset = haproxy_log.stat().st_size
    began = time.monotonic()
    clients = [asyncio.create_task(client(cluster.url, auth, tally, n, stop)) for n in range(CLIENTS)]
    try:
        await drill.faults_in_sequence()
    finally:
        stop.set()
        await asyncio.gather(*clients)
    load_seconds = time.monotonic() - began
    url = postgres.app_url(cluster, "drill")
    conn = await asyncpg.connect(url)
    try:
        events = await whole_log(conn)
        findings = await compare_log(conn, tally.acked, tally.keys)
        missing_in_kafka = await wait_for_kafka(follower, events, 90)
        audit_behind = await wait_for_audit(conn, events, 60)
    finally:
        await conn.close()
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
    logged = {str(e.event_id) for e in events}
    replay = await read_models_equal_replay(url)

    rows: list[tuple[str, str, str, bool]] = [
        ("clients / load time", f"{CLIENTS} / {load_seconds:.0f} s", "", True),
        ("commands sent", str(tally.sent), "", True),
        ("commands acknowledged", str(tally.acknowledged), "= sent", tally.acknowledged == tally.sent),
        ("commands failed after retries", str(len(tally.failed)), "0", not tally.failed),
        ("commands re-sent by the client (same key)", str(len(tally.retried_keys)), "", True),
        ("reads answered", str(tally.reads), "", True),
        ("calls HAProxy re-sent to a replica (L7 retries)", str(haproxy_resent(haproxy_log, log_offset)), "", True),
        ("acknowledged commands missing from the log", str(findings.missing), "0", findings.missing == 0),
        ("acknowledged keys without their record", str(findings.keys_unrecorded), "0",
         findings.keys_unrecorded == 0),
        ("commands applied twice", str(findings.applied_twice), "0", findings.applied_twice == 0),
        ("tasks whose log order differs from sending", str(findings.order_differs), "0", findings.order_differs == 0),
        ("events in the log", str(len(events)), "", True),
        ("Kafka messages (before dedupe)", str(follower.messages), "", True),
        ("events missing from Kafka", str(len(missing_in_kafka)), "0", not missing_in_kafka),
        ("events duplicated in Kafka after dedupe", str(follower.mismatched + len(follower.seen.keys() - logged)),
         "0", follower.mismatched == 0 and follower.seen.keys() <= logged),
        ("per-task order violations in Kafka", str(follower.order_violations), "0", follower.order_violations == 0),
        ("relay take-over", f"{drill.takeover:.2f} s ({drill.new_leader})" if drill.takeover is not None else "-",
         f"<= {TAKEOVER_LIMIT:.0f} s", drill.takeover is not None and drill.takeover <= TAKEOVER_LIMIT),
    ]
    for fault in drill.faults:
        worst, calls, reasons = drill.worst_outage(fault, tally)
        planned = fault.name == ROLLING  # a planned restart must not be seen by any client
        rows.append((f"worst unavailability: {fault.name}",
                     f"{worst:.2f} s ({calls} calls retried{': ' + reasons if reasons else ''})",
                     "0 s" if planned else f"fault took {fault.ended - fault.began:.1f} s",
                     calls == 0 if planned else True))
    outside = drill.outside_faults(tally)
    rows.append(("calls retried outside any fault", outside, "0", outside == "0"))
    down = [row[0] for row in await asyncio.to_thread(cli.status_rows, cluster) if row[2] != "up"]
    rows.append(("cluster processes down at the end", ", ".join(down) or "none", "none", not down))
    rows.append(("audit streams behind Kafka at the end", str(audit_behind), "0", audit_behind == 0))
    for name, equal in replay.items():
        rows.append((f"read model {name} equals its replay", "yes" if equal else "NO", "yes", equal))
    print_table(rows)
    for failure in tally.failed[:10]:
        print(f"failed: {failure}")
    return 0 if all(ok for *_, ok in rows) else 1


def print_table(rows: list[tuple[str, str, str, bool]]) -> None:
    header = ("measure", "value", "expected", "")
    cells = [header, *[(m, v, e, "ok" if ok else "FAILED") for m, v, e, ok in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    line = "+".join("-" * (w + 2) for w in widths)
    print(f"+{line}+")
    for number, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if number == 0:
            print(f"+{line}+")
    print(f"+{line}+", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster.drill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_cluster_arguments(parser)
    parser.add_argument("--short", action="store_true",
                        help="the short form (CI): a cluster of its own in a temporary state dir, shorter faults")
    args = parser.parse_args(argv)
    # The follower's client logs every refused connection while the drill holds the broker down: expected, not news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    began = time.monotonic()
    if args.short:
        with tempfile.TemporaryDirectory(prefix="taskstream-drill-") as state:
            cluster = Cluster(Path(state), args.replicas, args.base_port)
            code = _with_cluster(cluster, SHORT, always_stop=True)
    else:
        code = _with_cluster(cli.cluster_from(args), FULL, always_stop=False)
    print(f"drill {'passed' if code == 0 else 'FAILED'} in {time.monotonic() - began:.0f} s wall time")
    return code


def _with_cluster(cluster: Cluster, form: Form, always_stop: bool) -> int:
    cli.private_runtime_dir(cluster)
    was_up = not always_stop and cli.status_code(cluster) == 0
    code = 1
    try:
        if not was_up:
            cli.up(cluster)
        code = asyncio.run(run(cluster, form))
        return code
    finally:
        if code and always_stop:
            show_logs(cluster)
        if not was_up:
            cli.down(cluster, purge=always_stop)


def show_logs(cluster: Cluster, lines: int = 40) -> None:
    """The end of every process's log (the short form's state dir is deleted afterwards: CI keeps only this)."""
    for log in sorted(cluster.logs.glob("*.log")):
        print(f"--- {log.name} (last {lines} lines)")
        print("\n".join(log.read_text(errors="replace").splitlines()[-lines:]))


if __name__ == "__main__":
    sys.exit(main())
