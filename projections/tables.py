"""The tables the read side owns, as SQL migrations in `projections/migrations`: the read models (tasks, projects,
queues and their entries), the subscribers' checkpoints and per-stream versions, the audit trail, scroll state,
telemetry and workers. `commands.migrate` applies them in one order with the log's own (`commands/migrations`)."""

from __future__ import annotations

from pathlib import Path

READ_MIGRATIONS = Path(__file__).parent / "migrations"
