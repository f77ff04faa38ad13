"""deploy/capacity: the capacity model's arithmetic with fixed inputs, and a very short simulation so the script
keeps working. `deploy` is not a package (nor part of the wheel): the model is loaded from its file."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

CAPACITY = Path(__file__).resolve().parents[2] / "deploy" / "capacity"


def _load_model() -> ModuleType:
    spec = importlib.util.spec_from_file_location("capacity_model", CAPACITY / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


model = _load_model()

# Round numbers, so each expectation below can be checked by hand.
COSTS = model.Costs(
    events_per_command=1.0, log_bytes_per_event=1000, log_bytes_per_batch_event=2000, audit_bytes_per_event=500,
    audit_bytes_per_batch_event=1000, task_bytes=10_000, telemetry_bytes_per_scalar=1000,
    wal_bytes_per_command=10_000, wal_bytes_per_batch=20_000, wal_bytes_per_scalar=1000,
    pg_cpu_ms_per_command=1.0, pg_cpu_ms_per_batch=2.0, pg_cpu_ms_per_scalar=0.01,
    api_cpu_ms_per_command=2.0, api_cpu_ms_per_batch=2.0, api_cpu_ms_per_scalar=0.02, commits_per_command=1.0,
)
LOAD = model.Load(tasks=1e8, commands_per_s=1e4, scalars_per_s=1e6, scalars_per_batch=100, log_hot_days=30,
                  telemetry_hot_days=7)


def test_growth_per_day_is_events_times_bytes_per_event() -> None:
    p = model.predict(COSTS, LOAD)
    assert p.log_events_per_s == 1e4 + 1e4  # commands' events + one MetricsReported per batch of 100
    assert p.log_bytes_per_day == pytest.approx((1e4 * 1000 + 1e4 * 2000) * 86_400)  # 2.592 TB
    assert p.audit_bytes_per_day == pytest.approx((1e4 * 500 + 1e4 * 1000) * 86_400)
    assert p.telemetry_bytes_per_day == pytest.approx(1e6 * 1000 * 86_400)  # 86.4 TB
    assert p.telemetry_bytes_per_month == pytest.approx(30 * 86.4e12)
    assert p.read_model_bytes == 1e12


def test_rates_add_up_per_command_per_batch_and_per_scalar() -> None:
    p = model.predict(COSTS, LOAD)
    assert p.wal_bytes_per_s == pytest.approx(1e4 * 10_000 + 1e4 * 20_000 + 1e6 * 1000)  # 1.3 GB/s
    assert p.pg_cores == pytest.approx((1e4 * 1.0 + 1e4 * 2.0 + 1e6 * 0.01) / 1000)  # 40 cores
    assert p.api_cores == pytest.approx((1e4 * 2.0 + 1e4 * 2.0 + 1e6 * 0.02) / 1000)  # 60 cores
    assert p.commits_per_s == 2e4
    hot = p.log_bytes_per_day * 30 + p.audit_bytes_per_day * 30 + p.telemetry_bytes_per_day * 7 + 1e12
    assert p.hot_bytes == pytest.approx(hot)


def test_first_bottleneck_is_the_most_used_resource_of_one_primary() -> None:
    p = model.predict(COSTS, LOAD)
    used = model.utilisation(p, model.Primary())
    assert used["PostgreSQL CPU"] == pytest.approx(40 / (64 * 0.7))
    assert used["WAL (replica replay)"] == pytest.approx(1.3e9 / 200e6)  # 6.5: far past one primary
    assert model.first_bottleneck(p, model.Primary()) == ("hot storage", pytest.approx(used["hot storage"]))
    assert model.max_rate_factor(COSTS, LOAD, model.Primary()) == pytest.approx(200e6 / 1.3e9)


def test_split_puts_the_scalars_on_their_own_clusters() -> None:
    sides = model.split(COSTS, LOAD, model.Primary())
    # Task side: WAL 1e4 × 10 kB + 1e4 × 20 kB = 300 MB/s → 2 primaries by replay, but (2.592 + 1.296) TB/day
    # × 30 days + 1 TB = 117.6 TB hot → 6 by storage; telemetry: 1 GB/s → 5 by WAL, 86.4 TB/day × 7 days =
    # 604.8 TB hot → 31 by storage.
    assert sides == {"task side": 6, "telemetry": 31}


def test_bytes_text_uses_decimal_units() -> None:
    assert model.bytes_text(2.592e12) == "2.59 TB"
    assert model.bytes_text(999) == "999 B"


def test_a_short_simulation_runs_and_passes(database_url: str) -> None:
    """Two simulated days of a second each against a scratch database of the test server: the script, its
    calibration through `taskstream serve` and its partition maintenance keep working."""
    result = subprocess.run(
        [sys.executable, str(CAPACITY / "simulate.py"), "--database-url", database_url, "--days", "3",
         "--seconds-per-day", "0.5", "--commands-per-day", "100", "--keep-days", "0", "--calibration-tasks", "8",
         "--chunks-per-day", "4", "--tolerance", "0.5"],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verdict: PASS" in result.stdout
    assert "telemetry bytes per day" in result.stdout
