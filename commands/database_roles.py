"""The roles and the database of the embedded PostgreSQL (`api.database.EmbeddedPostgres`), as its superuser
sets them up at every start.

The application connects as `APP_ROLE`, a role that is not superuser, cannot create roles or databases and owns
`APP_DATABASE` and every object in it, so it runs the migrations and replay's table swaps and nothing more. The
superuser is used only here. Every statement is idempotent, so each start repairs what is missing.

Passwords reach the server only as SCRAM-SHA-256 verifiers computed here (`scram_verifier`), so the clear text
never appears in a statement the server could log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import asyncpg

SUPERUSER = "postgres"
APP_ROLE = "taskstream"
APP_DATABASE = "taskstream"
# Where an older taskstream kept its tables: the superuser's default database.
LEGACY_DATABASE = "postgres"
_SCRAM_ITERATIONS = 4096


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, PostgreSQL's format)."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${_SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def set_password(conn: asyncpg.Connection, role: str, password: str) -> None:
    """Give `role` a password (utility statements take no parameters: the verifier is a quoted literal)."""
    await conn.execute(f'ALTER ROLE "{role}" PASSWORD {_literal(scram_verifier(password))}')


async def reload_configuration(conn: asyncpg.Connection) -> None:
    """Have the server re-read its configuration files (`pg_hba.conf`); it does so shortly after."""
    await conn.execute("SELECT pg_reload_conf()")


async def ensure_app_role(conn: asyncpg.Connection, password: str) -> None:
    """`APP_ROLE` exists, may log in with `password`, and holds no privilege beyond its own objects."""
    if not await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", APP_ROLE):
        await conn.execute(f'CREATE ROLE "{APP_ROLE}"')
    await conn.execute(f'ALTER ROLE "{APP_ROLE}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                       f'NOBYPASSRLS PASSWORD {_literal(scram_verifier(password))}')


async def database_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name))


async def ensure_app_database(conn: asyncpg.Connection, legacy_has_tables: bool) -> None:
    """`APP_DATABASE` exists and `APP_ROLE` owns it. `conn` is the superuser's, on a database other than these
    two (`template1`). When `APP_DATABASE` is missing and `legacy_has_tables` (an older taskstream migrated the
    superuser's `postgres` database), that database is renamed to `APP_DATABASE` and an empty `postgres` is
    created in its place; the rename fails while another session uses it (stop the other servers first)."""
    if not await database_exists(conn, APP_DATABASE):
        if legacy_has_tables:
            await conn.execute(f'ALTER DATABASE "{LEGACY_DATABASE}" RENAME TO "{APP_DATABASE}"')
        else:
            await conn.execute(f'CREATE DATABASE "{APP_DATABASE}" OWNER "{APP_ROLE}"')
    if not await database_exists(conn, LEGACY_DATABASE):
        await conn.execute(f'CREATE DATABASE "{LEGACY_DATABASE}"')
    await conn.execute(f'ALTER DATABASE "{APP_DATABASE}" OWNER TO "{APP_ROLE}"')


async def has_taskstream_tables(conn: asyncpg.Connection) -> bool:
    """Whether the database of `conn` was migrated by taskstream."""
    return bool(await conn.fetchval("SELECT to_regclass('public.schema_migrations') IS NOT NULL"))


# Relations first (a table's sequences and indexes follow it), then what is left: standalone sequences, functions.
_FOREIGN_RELATIONS = """
SELECT c.oid::regclass::text AS name, c.relkind::text AS kind FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind::text = ANY($2::text[])
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
"""
_FOREIGN_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
"""
_ALTER = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE", "S": "SEQUENCE"}


async def hand_over_objects(conn: asyncpg.Connection) -> list[str]:
    """Make `APP_ROLE` the owner of every object of the `public` schema of the database of `conn` (the
    superuser's connection to `APP_DATABASE`); returns what changed hands. Needed once, for tables an older
    taskstream created as the superuser."""
    moved = []
    for kinds in (["r", "p", "v", "m", "f"], ["S"]):
        for row in await conn.fetch(_FOREIGN_RELATIONS, APP_ROLE, kinds):
            await conn.execute(f'ALTER {_ALTER[row["kind"]]} {row["name"]} OWNER TO "{APP_ROLE}"')
            moved.append(row["name"])
    for function in await conn.fetch(_FOREIGN_FUNCTIONS, APP_ROLE):
        await conn.execute(f'ALTER FUNCTION {function[0]} OWNER TO "{APP_ROLE}"')
        moved.append(function[0])
    return moved
