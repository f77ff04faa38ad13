"""The capacity model: pure arithmetic from measured per-unit costs (measure.py) and a load to what the load needs
(log and telemetry growth, WAL, CPU, commits) and which resource of one PostgreSQL primary runs out first.

No I/O here: README.md shows the same arithmetic by hand, and tests/deploy/test_capacity.py checks it with fixed
inputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

DAY = 86_400
MONTH_DAYS = 30


@dataclass(frozen=True)
class Costs:
    """Per-unit costs measured by measure.py. A command is one mutating API call of a task's life (LIFECYCLE in
    workload.py); a batch is one `events.add_batch` call (one task), a scalar one point in it. CPU and WAL of a
    batch are split into a fixed part per call and a part per scalar by measuring two batch sizes."""

    events_per_command: float
    log_bytes_per_event: float  # `events`: heap + TOAST + indexes, per row of a command's event
    log_bytes_per_batch_event: float  # the same, per MetricsReported event (one per batch)
    audit_bytes_per_event: float  # `task_audit` (the audit trail, behind the log) per command's event
    audit_bytes_per_batch_event: float  # the same, per MetricsReported event
    task_bytes: float  # `tasks` read model (heap + TOAST + indexes) per task, compacted
    telemetry_bytes_per_scalar: float  # `task_events`: heap + TOAST + indexes, per scalar
    wal_bytes_per_command: float
    wal_bytes_per_batch: float
    wal_bytes_per_scalar: float
    pg_cpu_ms_per_command: float
    pg_cpu_ms_per_batch: float
    pg_cpu_ms_per_scalar: float
    api_cpu_ms_per_command: float
    api_cpu_ms_per_batch: float
    api_cpu_ms_per_scalar: float
    commits_per_command: float

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Costs:
        return cls(**{f.name: float(values[f.name]) for f in fields(cls)})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Load:
    """The traffic to size for. Each batch reports one task's scalars, so it appends one event to the log."""

    tasks: float = 1e8
    commands_per_s: float = 1e4
    scalars_per_s: float = 1e6
    scalars_per_batch: float = 100
    log_hot_days: float = 30  # log partitions kept attached (older ones detached and archived)
    telemetry_hot_days: float = 7

    @property
    def batches_per_s(self) -> float:
        return self.scalars_per_s / self.scalars_per_batch


@dataclass(frozen=True)
class Primary:
    """What one PostgreSQL primary offers. Assumptions, not measurements: a large cloud database server
    (64 vCPU, NVMe), planned at 70 % of its CPU; WAL a primary generates and a streaming replica replays
    (recovery replays on one process, so a replica stops keeping up well before the primary's disks do);
    commits a group-committing WAL flush sustains; hot data that fits its disks with room for vacuum and
    index rebuilds."""

    cores: float = 64
    cpu_headroom: float = 0.7
    replica_replay_bytes_per_s: float = 200e6
    commits_per_s: float = 50_000
    hot_bytes: float = 20e12


@dataclass(frozen=True)
class Prediction:
    log_events_per_s: float
    log_bytes_per_day: float  # events table
    audit_bytes_per_day: float  # task_audit
    telemetry_bytes_per_day: float
    read_model_bytes: float
    wal_bytes_per_s: float
    pg_cores: float
    api_cores: float
    commits_per_s: float
    hot_bytes: float

    @property
    def log_bytes_per_month(self) -> float:
        return (self.log_bytes_per_day + self.audit_bytes_per_day) * MONTH_DAYS

    @property
    def telemetry_bytes_per_month(self) -> float:
        return self.telemetry_bytes_per_day * MONTH_DAYS


def predict(costs: Costs, load: Load) -> Prediction:
    """What `load` needs, from the per-unit `costs`."""
    commands, batches, scalars = load.commands_per_s, load.batches_per_s, load.scalars_per_s
    command_events = commands * costs.events_per_command
    events = command_events + batches

    def per_s(command: float, batch: float, scalar: float) -> float:
        return commands * command + batches * batch + scalars * scalar

    log_day = (command_events * costs.log_bytes_per_event + batches * costs.log_bytes_per_batch_event) * DAY
    audit_day = (command_events * costs.audit_bytes_per_event + batches * costs.audit_bytes_per_batch_event) * DAY
    telemetry_day = scalars * costs.telemetry_bytes_per_scalar * DAY
    read_model = load.tasks * costs.task_bytes
    return Prediction(
        log_events_per_s=events,
        log_bytes_per_day=log_day,
        audit_bytes_per_day=audit_day,
        telemetry_bytes_per_day=telemetry_day,
        read_model_bytes=read_model,
        wal_bytes_per_s=per_s(costs.wal_bytes_per_command, costs.wal_bytes_per_batch, costs.wal_bytes_per_scalar),
        pg_cores=per_s(costs.pg_cpu_ms_per_command, costs.pg_cpu_ms_per_batch, costs.pg_cpu_ms_per_scalar) / 1000,
        api_cores=per_s(costs.api_cpu_ms_per_command, costs.api_cpu_ms_per_batch,
                        costs.api_cpu_ms_per_scalar) / 1000,
        commits_per_s=commands * costs.commits_per_command + batches,
        hot_bytes=(log_day + audit_day) * load.log_hot_days + telemetry_day * load.telemetry_hot_days + read_model,
    )


def utilisation(prediction: Prediction, primary: Primary) -> dict[str, float]:
    """Each resource of one primary as a fraction of what it offers (1.0 = full); above 1 it does not fit."""
    return {
        "PostgreSQL CPU": prediction.pg_cores / (primary.cores * primary.cpu_headroom),
        "WAL (replica replay)": prediction.wal_bytes_per_s / primary.replica_replay_bytes_per_s,
        "commits (WAL flushes)": prediction.commits_per_s / primary.commits_per_s,
        "hot storage": prediction.hot_bytes / primary.hot_bytes,
    }


def first_bottleneck(prediction: Prediction, primary: Primary) -> tuple[str, float]:
    """The resource that runs out first, and its utilisation."""
    name, used = max(utilisation(prediction, primary).items(), key=lambda item: item[1])
    return name, used


def split(costs: Costs, load: Load, primary: Primary) -> dict[str, int]:
    """How many primaries each side needs when the task side (commands, the log, the read model, and each batch's
    fixed part: its event and the task's last_metrics) and the telemetry side (the scalars' rows) run on separate
    PostgreSQL clusters: the smallest count at which every resource of each fits."""
    task_side = replace(costs, telemetry_bytes_per_scalar=0, wal_bytes_per_scalar=0, pg_cpu_ms_per_scalar=0)
    telemetry_side = replace(costs, events_per_command=0, log_bytes_per_event=0, log_bytes_per_batch_event=0,
                             audit_bytes_per_event=0, audit_bytes_per_batch_event=0, task_bytes=0,
                             wal_bytes_per_command=0, wal_bytes_per_batch=0, pg_cpu_ms_per_command=0,
                             pg_cpu_ms_per_batch=0, commits_per_command=0)

    def needed(side: Costs) -> int:
        prediction = predict(side, load)
        if side is telemetry_side:  # its rows commit in the batch's transaction, counted on the task side
            prediction = replace(prediction, commits_per_s=0)
        return max(1, math.ceil(max(utilisation(prediction, primary).values())))

    return {"task side": needed(task_side), "telemetry": needed(telemetry_side)}


def max_rate_factor(costs: Costs, load: Load, primary: Primary) -> float:
    """By how much `load` (every rate, same mix) may be multiplied before the first resource of one primary is
    full; storage is left out (it is a matter of retention, not of rate)."""
    used = utilisation(predict(costs, load), primary)
    used.pop("hot storage")
    return 1 / max(used.values())


def bytes_text(value: float) -> str:
    """1234567 → '1.23 MB' (decimal units, as disks are sold)."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


def report(costs: Costs, load: Load, primary: Primary) -> list[str]:
    """The prediction for `load` as lines of text (measure.py prints them; README.md quotes them)."""
    p = predict(costs, load)
    lines = [
        f"load: {load.tasks:.3g} tasks, {load.commands_per_s:.3g} commands/s, {load.scalars_per_s:.3g} scalars/s "
        f"in batches of {load.scalars_per_batch:g}",
        f"log: {p.log_events_per_s:,.0f} events/s; events {bytes_text(p.log_bytes_per_day)}/day + audit trail "
        f"{bytes_text(p.audit_bytes_per_day)}/day = {bytes_text(p.log_bytes_per_month)}/month",
        f"telemetry: {bytes_text(p.telemetry_bytes_per_day)}/day = {bytes_text(p.telemetry_bytes_per_month)}/month",
        f"task read model: {bytes_text(p.read_model_bytes)}; hot set ({load.log_hot_days:g} days of log, "
        f"{load.telemetry_hot_days:g} of telemetry): {bytes_text(p.hot_bytes)}",
        f"WAL {bytes_text(p.wal_bytes_per_s)}/s, PostgreSQL CPU {p.pg_cores:,.1f} cores, API CPU "
        f"{p.api_cores:,.1f} cores, {p.commits_per_s:,.0f} commits/s",
        "one primary (" + ", ".join(f"{name} {used:.2f}" for name, used in utilisation(p, primary).items()) + ")",
    ]
    name, used = first_bottleneck(p, primary)
    rate_name, rate_used = max(((n, u) for n, u in utilisation(p, primary).items() if n != "hot storage"),
                               key=lambda item: item[1])
    sides = split(costs, load, primary)
    lines += [
        f"first bottleneck: {name} at {used:.1f}× one primary; of the rates: {rate_name} at {rate_used:.1f}× "
        f"(one primary carries {max_rate_factor(costs, load, primary):.2f} of this load)",
        f"split: task side {sides['task side']} primaries, telemetry {sides['telemetry']} primaries",
    ]
    return lines
