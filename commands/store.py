"""The event store: the only code that inserts into the log.

Appends are guarded twice: the handler holds a per-stream advisory lock while it decides (so commands on one task
are serialised and always decide on the latest version), and `UNIQUE (stream_id, version)` rejects any append whose
expected version is stale (the last line of defence for optimistic concurrency, G1).

The commit-order trap, and our answer (G4). `position` comes from a sequence at INSERT time but becomes visible at
COMMIT, so a reader that remembers "last position = 102" would skip 101 if 101 commits later. Every event row also
records the id of the transaction that wrote it (`txid xid8 DEFAULT pg_current_xact_id()`). Readers only read rows
whose transaction is older than the oldest transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`):
every such transaction has ended, so no row below that horizon can appear later. Readers order by
(txid, position) and checkpoint that pair; any transaction that commits later has a txid at or above the horizon
the reader used, hence above every txid it has read. Nothing is ever skipped, and writers are never serialised
(a global lock would put every commit in single file).

Per-task order under (txid, position): a transaction gets its txid at its first write. Handlers take the stream's
advisory lock (which assigns no txid) and read the state before writing anything, so the transaction appending
version n+1 got its txid after the one appending version n committed: its txid is larger. Nothing in a command
transaction may write before the stream lock is held (see `TaskSession`).

A long-open transaction holds the horizon back: readers wait for it (they never skip past it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from taskstream.schemas.events import Event, load_event


@dataclass(frozen=True, order=True)
class LogPosition:
    """Where a reader stands in the log: the (transaction id, position) of the last event it has read."""

    txid: int = 0
    position: int = 0


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    txid: int
    stream_id: str
    version: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded: datetime

    @property
    def log_position(self) -> LogPosition:
        return LogPosition(self.txid, self.position)

    def event(self) -> Event:
        return load_event(self.type, self.schema_version, self.data)


class StaleVersion(Exception):
    """The stream moved past the expected version (another writer won)."""


def stream_lock_key(stream_id: str) -> int:
    """A signed 64-bit advisory-lock key for a stream (collisions only serialise two unrelated streams)."""
    return int.from_bytes(hashlib.blake2b(stream_id.encode(), digest_size=8).digest(), "big", signed=True)


_INSERT = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT $1, v, e, t, s, d::jsonb, $7::jsonb
FROM unnest($2::int[], $3::uuid[], $4::text[], $5::int[], $6::text[]) AS x(v, e, t, s, d)
RETURNING position
"""

_COLUMNS = "position, txid::text::bigint AS txid, stream_id, version, event_id, type, schema_version, data, " \
    "metadata, recorded"


async def append(
    conn: asyncpg.Connection, stream_id: str, expected_version: int, events: list[Event], metadata: dict[str, Any],
    then: tuple[str, list[Any]] | None = None,
) -> list[int]:
    """Append `events` as versions expected_version+1.. of the stream; returns their positions.

    `then` is an optional statement (parameters from $8) run in the same statement as the append, as a
    data-modifying CTE: the inline projection costs no extra round trip.
    Raises StaleVersion when another transaction already wrote one of those versions.
    """
    versions = list(range(expected_version + 1, expected_version + 1 + len(events)))
    sql, extra = (_INSERT, [])
    if then:
        sql = f"WITH appended AS ({_INSERT}), projected AS ({then[0]}) SELECT position FROM appended"
        extra = then[1]
    try:
        rows = await conn.fetch(
            sql,
            stream_id,
            versions,
            [uuid.uuid4() for _ in events],
            [e.type_name() for e in events],
            [e.schema_version for e in events],
            [e.model_dump_json() for e in events],
            json.dumps(metadata),
            *extra,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "events_stream_id_version_key":
            raise
        raise StaleVersion(stream_id) from exc
    return [r["position"] for r in rows]


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        position=row["position"], txid=row["txid"], stream_id=row["stream_id"], version=row["version"],
        event_id=row["event_id"], type=row["type"], schema_version=row["schema_version"],
        data=json.loads(row["data"]), metadata=json.loads(row["metadata"]), recorded=row["recorded"],
    )


async def read_stream(conn: asyncpg.Connection, stream_id: str) -> list[RecordedEvent]:
    """Every event of one stream, in version order."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version", stream_id
    )
    return [_recorded(r) for r in rows]


async def read_after(
    conn: asyncpg.Connection, after: LogPosition, limit: int = 1000, up_to_position: int | None = None
) -> list[RecordedEvent]:
    """The next events after `after`, in log order, from finished transactions only (see the module comment)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM events
        WHERE (txid, position) > ($1::text::xid8, $2)
          AND txid < pg_snapshot_xmin(pg_current_snapshot())
          AND ($4::bigint IS NULL OR position <= $4)
        ORDER BY txid, position LIMIT $3""",
        str(after.txid), after.position, limit, up_to_position,
    )
    return [_recorded(r) for r in rows]


async def head_position(conn: asyncpg.Connection) -> int:
    """The highest position written so far (visible or not): the end a reader's lag is measured against."""
    # `is_called` is false until the first nextval: an empty log's head is 0, not the sequence's start value.
    value = await conn.fetchval("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_position_seq")
    return int(value or 0)


async def stream_exists(conn: asyncpg.Connection, stream_id: str) -> bool:
    """Whether the log holds any event of the stream (also after the stream ended, e.g. a deleted queue)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)", stream_id))
