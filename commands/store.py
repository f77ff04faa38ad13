"""The event store: the only code that inserts into the log or reads it (subscribers, the relay, replay and queue
consumers read through the functions here and never compute positions or horizons themselves).

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
transaction may write before the stream lock is held (see `CommandSession.load`).

A long-open transaction holds the horizon back: readers wait for it (they never skip past it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from taskstream.schemas import json_codec
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
_INSERT_PARAMS = 7  # $1..$7 above; a statement run with the append is renumbered to follow them

_COLUMNS = "position, txid::text::bigint AS txid, stream_id, version, event_id, type, schema_version, data, " \
    "metadata, recorded"

# A statement and its arguments, numbered from $1 as if run alone (see `append`).
Statement = tuple[str, list[Any]]
_PLACEHOLDER = re.compile(r"\$([0-9]+)")


@functools.lru_cache(maxsize=256)
def _after_append(sql: str, count: int) -> str:
    """`sql`, which must use exactly the parameters $1..$count, renumbered to follow the append's own.

    Why the check: a statement numbered from anywhere else (say from $8, as if already shifted) would bind the
    append's own arguments or the wrong ones of its own, and PostgreSQL might accept it; this raises ValueError
    instead. `$n` is recognised anywhere in `sql`, so the statement must not hold one inside a string literal.
    """
    used = {int(n) for n in _PLACEHOLDER.findall(sql)}
    if used != set(range(1, count + 1)):
        raise ValueError(f"a statement run with the append must use exactly $1..${count} for its {count} "
                         f"arguments, found {sorted(used)}: {sql[:200]}")
    return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + _INSERT_PARAMS}", sql)


async def append(
    conn: asyncpg.Connection, stream_id: str, expected_version: int, events: list[Event], metadata: dict[str, Any],
    then: Statement | None = None,
) -> list[int]:
    """Append `events` as versions expected_version+1.. of the stream; returns their positions.

    `then` is an optional statement run in the same statement as the append, as a data-modifying CTE: the inline
    projection costs no extra round trip. It is numbered from $1 for its own arguments, as if it ran alone; the
    store renumbers it after the append's parameters (ValueError, before anything is written, when it does not
    use exactly $1..$len(args)).
    Raises StaleVersion when another transaction already wrote one of those versions.
    """
    versions = list(range(expected_version + 1, expected_version + 1 + len(events)))
    sql, extra = (_INSERT, [])
    if then:
        projected = _after_append(then[0], len(then[1]))
        sql = f"WITH appended AS ({_INSERT}), projected AS ({projected}) SELECT position FROM appended"
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
            json_codec.dumps_text(metadata),
            *extra,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "events_stream_id_version_key":
            raise
        raise StaleVersion(stream_id) from exc
    return [r["position"] for r in rows]


_INSERT_MANY = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT i, v, e, t, s, d::jsonb, $7::jsonb
FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::int[], $6::text[]) AS x(i, v, e, t, s, d)
RETURNING position
"""


async def append_many(
    conn: asyncpg.Connection, streams: list[tuple[str, int, list[Event]]], metadata: dict[str, Any],
    then: Statement | None = None,
) -> list[int]:
    """`append` for several streams at once: each (stream id, expected version, events) appended as that stream's
    versions expected+1.., all in one statement (with `then`, as in `append`); returns the positions in the order
    given. The caller holds every stream's lock (as for `append`); StaleVersion as there."""
    ids, versions, types, schema_versions, data = [], [], [], [], []
    for stream_id, expected, events in streams:
        for offset, event in enumerate(events, start=1):
            ids.append(stream_id)
            versions.append(expected + offset)
            types.append(event.type_name())
            schema_versions.append(event.schema_version)
            data.append(event.model_dump_json())
    sql, extra = _INSERT_MANY, []
    if then:
        projected = _after_append(then[0], len(then[1]))
        sql = f"WITH appended AS ({_INSERT_MANY}), projected AS ({projected}) SELECT position FROM appended"
        extra = then[1]
    try:
        rows = await conn.fetch(sql, ids, versions, [uuid.uuid4() for _ in ids], types, schema_versions, data,
                                json_codec.dumps_text(metadata), *extra)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "events_stream_id_version_key":
            raise
        raise StaleVersion(", ".join(sorted({i for i, _, _ in streams}))) from exc
    return [r["position"] for r in rows]


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        position=row["position"], txid=row["txid"], stream_id=row["stream_id"], version=row["version"],
        event_id=row["event_id"], type=row["type"], schema_version=row["schema_version"],
        data=json_codec.loads(row["data"]), metadata=json_codec.loads(row["metadata"]), recorded=row["recorded"],
    )


async def read_stream(conn: asyncpg.Connection, stream_id: str, up_to_version: int | None = None,
                      from_version: int = 1) -> list[RecordedEvent]:
    """The events of one stream from `from_version` (up to `up_to_version` when given), in version order."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND ($2::int IS NULL OR version <= $2) "
        "AND version >= $3 ORDER BY version", stream_id, up_to_version, from_version
    )
    return [_recorded(r) for r in rows]


# Why `events.txid` in ORDER BY: a bare `txid` there names the output column, the bigint cast, which no index has,
# so PostgreSQL read and sorted every event after the position (the whole log for `latest_readable`) instead of
# walking `events_log_order`. tests/commands/test_log_reads.py checks both plans.
READ_AFTER = f"""SELECT {_COLUMNS} FROM events
    WHERE (txid, position) > ($1::text::xid8, $2)
      AND txid < pg_snapshot_xmin(pg_current_snapshot())
      AND ($4::bigint IS NULL OR position <= $4)
    ORDER BY events.txid, events.position LIMIT $3"""
LATEST_READABLE = """SELECT txid::text::bigint AS txid, position FROM events
    WHERE txid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY events.txid DESC, events.position DESC LIMIT 1"""


async def read_after(
    conn: asyncpg.Connection, after: LogPosition, limit: int = 1000, up_to_position: int | None = None
) -> list[RecordedEvent]:
    """The next events after `after`, in log order, from finished transactions only (see the module comment)."""
    rows = await conn.fetch(READ_AFTER, str(after.txid), after.position, limit, up_to_position)
    return [_recorded(r) for r in rows]


async def head_position(conn: asyncpg.Connection) -> int:
    """The highest position written so far (visible or not): the end a reader's lag is measured against."""
    # `is_called` is false until the first nextval: an empty log's head is 0, not the sequence's start value.
    value = await conn.fetchval("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_position_seq")
    return int(value or 0)


async def stream_exists(conn: asyncpg.Connection, stream_id: str) -> bool:
    """Whether the log holds any event of the stream (also after the stream ended, e.g. a deleted queue)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)", stream_id))


async def latest_readable(conn: asyncpg.Connection) -> LogPosition | None:
    """The position of the last event a reader can read now (None while none is readable): a reader that starts
    there reads every event that becomes readable later, and none of those before it."""
    row = await conn.fetchrow(LATEST_READABLE)
    return None if row is None else LogPosition(row["txid"], row["position"])


_MAX_POSITION = 2**63 - 1


async def horizon(conn: asyncpg.Connection) -> LogPosition:
    """The highest position below every transaction still running: each event at or below it has committed (or
    never will), and no event at or below it can appear later. A checkpoint moved here resumes past all of them."""
    xmin = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return LogPosition(int(xmin) - 1, _MAX_POSITION)


# Bulk reads (replay). What each row holds: "fold" rows are positional (stream_id, version, type, schema_version,
# data as JSON text), what a fold needs and no more; "full" rows carry every field of `RecordedEvent` (data and
# metadata as JSON text, see `recorded_from_text`).
RowShape = Literal["fold", "full"]
_SHAPES: dict[RowShape, str] = {
    "fold": "stream_id, version, type, schema_version, data::text AS data",
    "full": "position, txid::text::bigint AS txid, stream_id, version, event_id, type, schema_version, "
            "data::text AS data, metadata::text AS metadata, recorded",
}
_OF_TYPES = "type = ANY($1) AND ($2::bigint IS NULL OR position <= $2)"


def recorded_from_text(row: Any) -> RecordedEvent:
    """A "full" row as a `RecordedEvent` (its JSON text parsed by orjson, exactly for integers beyond 64 bits:
    the bulk readers' decoder)."""
    return RecordedEvent(
        position=row["position"], txid=row["txid"], stream_id=row["stream_id"], version=row["version"],
        event_id=row["event_id"], type=row["type"], schema_version=row["schema_version"],
        data=json_codec.loads(row["data"]), metadata=json_codec.loads(row["metadata"]), recorded=row["recorded"])


@dataclass(frozen=True)
class LogSnapshot:
    """The log as one REPEATABLE READ snapshot sees it (`snapshot_of_log`); `snapshot` names it for
    `read_unseen`."""

    conn: asyncpg.Connection
    snapshot: str

    async def count(self, types: list[str], up_to_position: int | None = None) -> int:
        """How many events of `types` (at or below `up_to_position`) the snapshot holds: a full scan."""
        return int(await self.conn.fetchval(f"SELECT count(*) FROM events WHERE {_OF_TYPES}", types, up_to_position))

    async def cursor(self, types: list[str], shape: RowShape,
                     up_to_position: int | None = None) -> asyncpg.cursor.Cursor:
        """A server-side cursor over the snapshot's events of `types`, in (stream_id, version) order, rows of
        `shape`: memory holds what the caller fetches, whatever the size of the log."""
        # Served by the (stream_id, version) unique index: a cursor is planned for fast start, so no sort.
        return await self.conn.cursor(
            f"SELECT {_SHAPES[shape]} FROM events WHERE {_OF_TYPES} ORDER BY stream_id, version",
            types, up_to_position)

    async def streams(self, types: list[str], up_to_position: int | None = None,
                      streams: StreamRange = (None, None)) -> AsyncGenerator[list[StreamRow], None]:
        """Every event of `types` (at or below `up_to_position`) in the streams of `streams` the snapshot holds, as
        lists of stream rows (see `STREAM_ROW_EVENTS`): a stream's rows come one after the other, in version order,
        each with at most STREAM_ROW_EVENTS events. Memory: two FETCHes of STREAMS_PER_FETCH rows (the next one is
        read while the caller works on the current one) and the ids of the streams longer than a row. Close it
        (`contextlib.aclosing`) if you stop before the end: a FETCH may be in flight."""
        row_events, long_streams = STREAM_ROW_EVENTS, list[str]()
        args: list[Any] = [types, up_to_position, *streams]
        async for records in _fetch_ahead(await self.conn.cursor(_streams_query(row_events), *args)):
            rows: list[StreamRow] = []
            for stream_id, version, beyond, events in records:
                if beyond:
                    long_streams.append(stream_id)
                else:
                    rows.append((stream_id, version, events))
            if rows:
                yield rows
        for start in range(0, len(long_streams), _LONG_STREAMS_PER_QUERY):
            cursor = await self.conn.cursor(_long_streams_query(row_events), *args,
                                            long_streams[start:start + _LONG_STREAMS_PER_QUERY])
            async for records in _fetch_ahead(cursor):
                yield [(stream_id, version, events) for stream_id, version, _, events in records]

    async def stream_bounds(self, parts: int) -> list[str]:
        """Up to `parts` - 1 stream ids, ascending, that split the log into `parts` ranges of about equal numbers of
        events (from the planner's histogram of `events.stream_id`; none while the log has no statistics)."""
        bounds = await self.conn.fetchval(
            "SELECT histogram_bounds::text::text[] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'events' AND attname = 'stream_id'")
        if not bounds or parts < 2:
            return []
        return sorted({str(bounds[len(bounds) * part // parts]) for part in range(1, parts)})

    async def export(self) -> str:
        """The snapshot's id for `imported_snapshot` on other connections (valid while this snapshot is open)."""
        return str(await self.conn.fetchval("SELECT pg_export_snapshot()"))


# Grouped bulk reads (replay of the task read model): one row per stream, (stream_id, version of its last event,
# JSON array of the stream's events as [type, schema_version, data]). PostgreSQL builds each stream's array while
# walking the (stream_id, version) index, so the reader parses one JSON text per stream (in C) instead of one row
# and one JSON text per event. A row holds at most STREAM_ROW_EVENTS events (memory, and json's 1 GB limit): a
# stream with events beyond that version is left out of the first pass (its events are not aggregated, only
# counted) and read afterwards in slices of STREAM_ROW_EVENTS versions. Slicing every stream would cost a sort per
# stream (the planner does not know that the slice number follows the index order): measured 0.6 against 0.5 s of
# PostgreSQL's CPU per 3·10^5 events.
STREAM_ROW_EVENTS = 500
STREAMS_PER_FETCH = 200
StreamRow = tuple[str, int, bytes]
StreamRange = tuple[str | None, str | None]  # streams from the first id (included) to the second (excluded); None: open
_IN_RANGE = "($3::text IS NULL OR stream_id >= $3) AND ($4::text IS NULL OR stream_id < $4)"


def _events_array(only: str = "") -> str:
    """A group's events as a JSON array, as bytes (`json_codec.loads` checks the bytes for long integers)."""
    events = "json_agg(json_build_array(type, schema_version, data) ORDER BY version)"
    return f"convert_to({events}{f' FILTER (WHERE {only})' if only else ''}::text, 'UTF8')"


def _streams_query(row_events: int) -> str:
    return (f"SELECT stream_id, max(version), count(*) FILTER (WHERE version > {row_events:d}), "
            f"{_events_array(f'version <= {row_events:d}')} "
            f"FROM events WHERE {_OF_TYPES} AND {_IN_RANGE} GROUP BY stream_id ORDER BY stream_id")


def _long_streams_query(row_events: int) -> str:
    return (f"SELECT stream_id, max(version), 0::bigint, {_events_array()} FROM events "
            f"WHERE {_OF_TYPES} AND {_IN_RANGE} AND stream_id = ANY($5) "
            f"GROUP BY stream_id, (version - 1) / {row_events:d} ORDER BY stream_id, (version - 1) / {row_events:d}")


_LONG_STREAMS_PER_QUERY = 1000


async def _fetch_ahead(cursor: asyncpg.cursor.Cursor) -> AsyncIterator[list[Any]]:
    """`cursor`'s rows FETCH by FETCH, the next FETCH in flight while the caller works on the current one."""
    ahead = asyncio.ensure_future(cursor.fetch(STREAMS_PER_FETCH))
    try:
        while records := await ahead:
            ahead = asyncio.ensure_future(cursor.fetch(STREAMS_PER_FETCH))
            yield records
    finally:
        if not ahead.done():
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                await ahead


@asynccontextmanager
async def snapshot_of_log(conn: asyncpg.Connection) -> AsyncIterator[LogSnapshot]:
    """A read-only REPEATABLE READ transaction on `conn` for the duration of the block: every read through the
    `LogSnapshot` sees the same committed events, and `read_unseen` later finds exactly the ones it missed."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield LogSnapshot(conn, await current_snapshot(conn))


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@asynccontextmanager
async def imported_snapshot(conn: asyncpg.Connection, exported: str, snapshot: str) -> AsyncIterator[LogSnapshot]:
    """`snapshot_of_log` on `conn` in the snapshot another connection exported (`LogSnapshot.export`; `snapshot`:
    its `LogSnapshot.snapshot`): the same events, for a reader working beside the exporting one."""
    if not _SNAPSHOT_ID.fullmatch(exported):
        raise ValueError(f"not an exported snapshot id: {exported!r}")
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{exported}'")  # the transaction's first statement
        yield LogSnapshot(conn, snapshot)


async def current_snapshot(conn: asyncpg.Connection) -> str:
    """The current transaction's snapshot (text form of `pg_snapshot`), for a later `read_unseen`."""
    return str(await conn.fetchval("SELECT pg_current_snapshot()::text"))


async def read_unseen(conn: asyncpg.Connection, snapshot: str, types: list[str]) -> list[RecordedEvent]:
    """Committed events of `types` that `snapshot` did not see (as of the caller's snapshot), in (stream_id,
    version) order. Only transactions at or above the snapshot's xmin can be unseen: the index on (txid, position)
    serves the scan."""
    rows = await conn.fetch(
        f"""SELECT {_SHAPES["full"]} FROM events
        WHERE txid >= pg_snapshot_xmin($1::text::pg_snapshot)
          AND NOT pg_visible_in_snapshot(txid, $1::text::pg_snapshot) AND type = ANY($2)
        ORDER BY stream_id, version""", snapshot, types)
    return [recorded_from_text(r) for r in rows]
