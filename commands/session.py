"""One command, one transaction: lock the stream, load its state, decide, append, project, commit.

`CommandSession` is the unit of work the handlers use. Its rules keep the log's guarantees:
* a stream is locked (transaction-level advisory lock, which assigns no transaction id) before its state is read
  and before anything is written, so commands on one task are serialised and decide on its latest version (G1),
  and log order by transaction id keeps per-task order (see `commands.store`);
* the events, the read-model rows (inline projectors) and the idempotency record commit together or not at all (G3);
* read-your-writes holds: the read model is updated in the same transaction (G7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from taskstream.commands import store
from taskstream.commands.evolve import evolve
from taskstream.schemas import json_codec
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import Event


@dataclass(frozen=True)
class Actor:
    """Who calls: the identity of the credentials or token."""

    company: str
    user: str
    user_name: str = ""
    role: str = "user"
    company_name: str = ""


@dataclass(frozen=True)
class Stream:
    """A stream's state as a handler sees it: the document (None if it does not exist) and its version."""

    id: str
    doc: dict[str, Any] | None
    version: int


class StateStore(Protocol):
    """The inline projector of a stream type: loads current state and writes the read model (projections/).

    `table` is the read model's table (with `id`, `doc`, `version`). `load` and `project` are required; the two
    hooks below have defaults, so a read model that subclasses this protocol declares only what it uses. Replay
    drives the same methods over shadow tables.
    """

    table: str

    async def load(self, conn: asyncpg.Connection, stream_id: str) -> tuple[dict[str, Any], int] | None: ...

    async def project(
        self, conn: asyncpg.Connection, stream_id: str, version: int, doc: dict[str, Any] | None
    ) -> None: ...

    def projection_statement(
        self, stream_id: str, version: int, doc: dict[str, Any] | None, stored: bool = False
    ) -> store.Statement | None:
        """What `project` writes, as one statement numbered from $1 that `commands.store.append` runs together
        with the append (one round trip instead of two); None (the default) to have `project` run after it.
        `stored`: the stream's row was read under the stream's lock in this transaction (so it is there), and
        may be updated in place rather than upserted."""
        return None

    def projection_statement_many(
        self, rows: list[tuple[str, int, dict[str, Any] | None]]
    ) -> store.Statement | None:
        """What `project` writes for several streams (stream id, version, document) as one statement numbered from
        $1, run with their appends (`CommandSession.save_many`); None (the default) to `project` each after it."""
        return None

    def patch_statement_many(self, rows: list[tuple[str, int, dict[str, Any]]]) -> store.Statement | None:
        """The read-model write of streams whose events only set fields, as one statement numbered from $1: per
        (stream id, version, the new values of the top-level fields the events wrote), those fields merged into the
        stored document and the columns that follow from them. None (the default): not supported."""
        return None

    async def project_events(
        self, conn: asyncpg.Connection, stream_id: str, from_version: int, events: list[Event]
    ) -> None:
        """Follow the events themselves, after `project` (a queue's entries: one row per entry event, where
        rewriting the list from the folded document would make every enqueue O(queue length)); `from_version` is
        the stream's version before them. Default: nothing."""
        return None  # a body of its own: a docstring alone would make the hook abstract for explicit subclasses


@dataclass
class CommandSession:
    conn: asyncpg.Connection
    stores: dict[str, StateStore]
    metadata: dict[str, Any]
    appended: list[tuple[str, list[Event]]] = field(default_factory=list)

    async def lock(self, stream_id: str) -> None:
        """Take the stream's lock for the rest of the transaction (waits for the current holder)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", store.stream_lock_key(stream_id))

    async def load(self, kind: str, stream_id: str, lock: bool = True) -> Stream:
        """The stream's state, after taking its lock (unless the caller already holds it)."""
        if lock:
            # One round trip for lock + read (see the function `lock_and_load` in the migrations).
            row = await self.conn.fetchrow(
                "SELECT doc, version FROM lock_and_load($1, $2, $3)",
                store.stream_lock_key(stream_id), self.stores[kind].table, stream_id,
            )
            if row["doc"] is None:
                return Stream(stream_id, None, 0)
            return Stream(stream_id, json_codec.loads(row["doc"]), row["version"])
        loaded = await self.stores[kind].load(self.conn, stream_id)
        if loaded is None:
            return Stream(stream_id, None, 0)
        return Stream(stream_id, loaded[0], loaded[1])

    async def load_many(self, kind: str, stream_ids: list[str], fields: list[str] | None = None) -> list[Stream]:
        """The states of several streams, after taking their locks in the order given, in one round trip.

        Callers pass the ids sorted (the global lock order, so two such calls never deadlock) and without
        duplicates. Every lock is taken before the streams are read (see `lock_and_load_many`). With `fields`, each
        document holds only those top-level fields (save such states with `save_patches`)."""
        rows = await self.conn.fetch(
            "SELECT id, doc, version FROM lock_and_load_many($1::bigint[], $2, $3::text[], $4::text[])",
            [store.stream_lock_key(i) for i in stream_ids], self.stores[kind].table, stream_ids, fields,
        )
        found = {r["id"]: r for r in rows}
        return [Stream(i, json_codec.loads(found[i]["doc"]), found[i]["version"]) if i in found else Stream(i, None, 0)
                for i in stream_ids]

    async def save(
        self, kind: str, stream: Stream, events: list[Event], metadata: dict[str, Any] | None = None
    ) -> Stream:
        """Append `events` at the stream's next versions and project the new state; returns it."""
        if not events:
            return stream
        doc = stream.doc
        for event in events:
            doc = evolve(doc, event)
        version = stream.version + len(events)
        projector = self.stores[kind]
        merged_metadata = {**self.metadata, **(metadata or {})}
        # A loaded stream of version > 0 is a row read under its lock (`load`, `load_many`): it is still there.
        statement = projector.projection_statement(stream.id, version, doc, stored=stream.version > 0)
        if statement is not None:
            # One round trip: the append and the read-model write in one statement.
            await store.append(self.conn, stream.id, stream.version, events, merged_metadata, then=statement)
        else:
            await store.append(self.conn, stream.id, stream.version, events, merged_metadata)
            await projector.project(self.conn, stream.id, version, doc)
        await projector.project_events(self.conn, stream.id, stream.version, events)
        self.appended.append((stream.id, events))
        return Stream(stream.id, doc, version)

    async def save_many(self, kind: str, changes: list[tuple[Stream, list[Event]]]) -> list[Stream]:
        """`save` for several streams of one kind, each already loaded under its lock: their events are appended
        and their read-model rows written in one statement when the projector offers one (`save` per stream
        otherwise). Returns the new states, in the order given."""
        changes = [(stream, events) for stream, events in changes if events]
        projector = self.stores[kind]
        saved = [Stream(s.id, _fold(s.doc, events), s.version + len(events)) for s, events in changes]
        statement = projector.projection_statement_many([(s.id, s.version, s.doc) for s in saved])
        if statement is None or not changes:
            return [await self.save(kind, stream, events) for stream, events in changes]
        await store.append_many(self.conn, [(s.id, s.version, events) for s, events in changes], self.metadata,
                                then=statement)
        for stream, events in changes:
            await projector.project_events(self.conn, stream.id, stream.version, events)
            self.appended.append((stream.id, events))
        return saved


    async def save_patches(self, kind: str, changes: list[tuple[Stream, list[Event]]]) -> None:
        """`save_many` for streams loaded with only some top-level fields (`load_many(fields=...)`), whose events
        only set fields (no unset, no deletion) below fields that were loaded: the events are appended, and the new
        values of the top-level fields they wrote merged into each read-model row, in one statement.

        Why this equals the fold of the whole document (replay's): a set path changes only the top-level field it
        starts with, and that field's new value follows from its old one alone, which was loaded. ValueError, before
        anything is written, for an event that unsets or a projector without `patch_statement_many`."""
        changes = [(stream, events) for stream, events in changes if events]
        if not changes:
            return
        rows = []
        for stream, events in changes:
            written = {path.split(".", 1)[0] for event in events for path in _set_only(event)}
            doc = _fold(stream.doc, events) or {}
            rows.append((stream.id, stream.version + len(events), {key: doc[key] for key in written}))
        statement = self.stores[kind].patch_statement_many(rows)
        if statement is None:
            raise ValueError(f"the {kind} read model cannot merge fields into its documents")
        await store.append_many(self.conn, [(s.id, s.version, events) for s, events in changes], self.metadata,
                                then=statement)
        for stream, events in changes:
            await self.stores[kind].project_events(self.conn, stream.id, stream.version, events)
            self.appended.append((stream.id, events))


def _set_only(event: Event) -> dict[str, Any]:
    written, unset = getattr(event, "set", None), getattr(event, "unset", None)
    if not isinstance(written, dict) or unset:
        raise ValueError(f"{event.type_name()} does not only set fields: it cannot be saved as a patch")
    return written


def _fold(doc: dict[str, Any] | None, events: list[Event]) -> dict[str, Any] | None:
    for event in events:
        doc = evolve(doc, event)
    return doc


async def record_idempotent_response(
    conn: asyncpg.Connection, company: str, key: str, endpoint: str, response: dict[str, Any]
) -> dict[str, Any] | None:
    """Store the response for an idempotency key; if a concurrent twin stored one first, return that instead."""
    inserted = await conn.fetchval(
        """INSERT INTO idempotency_keys (company, key, endpoint, response) VALUES ($1, $2, $3, $4::jsonb)
        ON CONFLICT (company, key) DO NOTHING RETURNING true""",
        company, key, endpoint, json.dumps(response, default=str),
    )
    if inserted:
        return None
    return await stored_response(conn, company, key, endpoint)


async def stored_response(conn: asyncpg.Connection, company: str, key: str, endpoint: str) -> dict[str, Any] | None:
    """The first response recorded for this key, None if there is none. A key recorded for another endpoint is a
    client's mistake (a reused key), 400/12: answering the other call's response would tell the client a command
    ran that did not."""
    row = await conn.fetchrow(
        "SELECT endpoint, response FROM idempotency_keys WHERE company = $1 AND key = $2", company, key
    )
    if row is None:
        return None
    if row["endpoint"] != endpoint:
        raise ApiError(400, 12, f"Idempotency-Key already used for {row['endpoint']}")
    return dict(json.loads(row["response"]))
