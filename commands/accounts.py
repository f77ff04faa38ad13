"""Accounts: companies, users, key pairs and the server-wide settings (the token signing secret).

Why the write side owns them: they are state written directly (first start, `taskstream credentials`, tests),
not derived from the log, so no projection could rebuild them; and every command's metadata names the actor they
identify. Their tables are in `commands/migrations/001_event_log.sql`. Secrets are stored as salted scrypt hashes,
never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from taskstream.commands.session import Actor
from taskstream.schemas.ids import new_id

DEFAULT_COMPANY = "d1bd92a3b039400cbafc60a7a5b1e52b"
_BOOTSTRAP_LOCK = 727275  # first start of several replicas at once: one creates, the others find


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


# Stands for the stored hash of a key that does not exist: checking a secret against it costs what checking a real
# one costs (same scrypt parameters), so an attacker cannot tell unknown keys from wrong secrets by the time taken.
# Random, so no secret matches it.
UNKNOWN_KEY_HASH = f"scrypt${secrets.token_hex(16)}${secrets.token_hex(64)}"


def verify_secret(secret: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


def generate_key_pair() -> tuple[str, str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    access_key = "".join(secrets.choice(alphabet) for _ in range(30))
    return access_key, secrets.token_urlsafe(45)[:60]


@dataclass(frozen=True)
class Bootstrap:
    """What first start created: the default key pair (secret shown once), or None when it already existed."""

    access_key: str | None
    secret_key: str | None
    token_secret: str


async def bootstrap(conn: asyncpg.Connection, access_key: str | None, secret_key: str | None) -> Bootstrap:
    """Create the default company, user, key pair and token secret on first start (idempotent)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _BOOTSTRAP_LOCK)
        token_secret = await conn.fetchval("SELECT value FROM settings WHERE key = 'token_secret'")
        if token_secret is None:
            token_secret = secrets.token_urlsafe(48)
            await conn.execute("INSERT INTO settings (key, value) VALUES ('token_secret', $1)", token_secret)
        await conn.execute(
            "INSERT INTO companies (id, name) VALUES ($1, 'clearml') ON CONFLICT DO NOTHING", DEFAULT_COMPANY
        )
        await conn.execute(
            "INSERT INTO users (id, company, name, role) VALUES ('__admin__', $1, 'admin', 'admin') "
            "ON CONFLICT DO NOTHING", DEFAULT_COMPANY,
        )
        created_key = created_secret = None
        if access_key and secret_key:
            exists = await conn.fetchval("SELECT 1 FROM credentials WHERE access_key = $1", access_key)
            if not exists:
                await add_credentials(conn, "__admin__", access_key, secret_key)
                created_key, created_secret = access_key, secret_key
        elif not await conn.fetchval("SELECT 1 FROM credentials WHERE revoked IS NULL LIMIT 1"):
            created_key, created_secret = generate_key_pair()
            await add_credentials(conn, "__admin__", created_key, created_secret)
    return Bootstrap(created_key, created_secret, str(token_secret))


async def token_secret(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """The token signing secret `bootstrap` created; LookupError before first start."""
    value = await conn.fetchval("SELECT value FROM settings WHERE key = 'token_secret'")
    if value is None:
        raise LookupError("no token secret: the database was not bootstrapped")
    return str(value)


async def rotate_token_secret(conn: asyncpg.Connection) -> None:
    """Replace the token signing secret: every token signed with the old one stops being accepted (servers
    re-read it within their verification cache's lifetime)."""
    await conn.execute("UPDATE settings SET value = $1 WHERE key = 'token_secret'", secrets.token_urlsafe(48))


async def add_credentials(conn: asyncpg.Connection, user_id: str, access_key: str, secret_key: str) -> None:
    await conn.execute(
        "INSERT INTO credentials (access_key, secret_hash, user_id) VALUES ($1, $2, $3)",
        access_key, hash_secret(secret_key), user_id,
    )


async def create_user(conn: asyncpg.Connection, name: str, company: str = DEFAULT_COMPANY,
                      company_name: str | None = None) -> str:
    """A user (and its company if new); returns the user id."""
    await conn.execute(
        "INSERT INTO companies (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", company, company_name or company
    )
    user_id = new_id()
    await conn.execute("INSERT INTO users (id, company, name) VALUES ($1, $2, $3)", user_id, company, name)
    return user_id


async def user_exists(conn: asyncpg.Connection, user_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id))


async def active_key(conn: asyncpg.Connection | asyncpg.Pool, access_key: str) -> tuple[str, Actor] | None:
    """(secret hash, identity) of an active (not revoked) key pair, or None."""
    row = await conn.fetchrow(
        """SELECT c.secret_hash, u.id AS user_id, u.name AS user_name, u.role, co.id AS company,
                  co.name AS company_name
           FROM credentials c JOIN users u ON u.id = c.user_id JOIN companies co ON co.id = u.company
           WHERE c.access_key = $1 AND c.revoked IS NULL""",
        access_key,
    )
    if row is None:
        return None
    return str(row["secret_hash"]), Actor(company=row["company"], user=row["user_id"], user_name=row["user_name"],
                                          role=row["role"], company_name=row["company_name"])


@dataclass(frozen=True)
class KeyPair:
    """A stored key pair as `taskstream credentials list` shows it (never its secret)."""

    access_key: str
    user_id: str
    created: datetime
    revoked: datetime | None
    last_used: datetime | None
    last_used_from: str | None = None


async def key_pairs(conn: asyncpg.Connection) -> list[KeyPair]:
    """Every key pair, revoked ones too, oldest first."""
    rows = await conn.fetch(
        "SELECT access_key, user_id, created, revoked, last_used, last_used_from FROM credentials ORDER BY created")
    return [KeyPair(r["access_key"], r["user_id"], r["created"], r["revoked"], r["last_used"], r["last_used_from"])
            for r in rows]


async def touch_credentials(conn: asyncpg.Connection | asyncpg.Pool, access_key: str, used_from: str | None) -> None:
    """Record that the key pair was used now, from `used_from` (the worker id the client sent, else its address).
    Callers write it at most about once a minute per key: it is bookkeeping, not an audit trail."""
    await conn.execute("UPDATE credentials SET last_used = now(), last_used_from = $2 WHERE access_key = $1",
                       access_key, used_from)


async def revoke(conn: asyncpg.Connection, access_key: str) -> bool:
    """Revoke an active key pair; False when there is none by that key."""
    return bool(await conn.fetchval(
        "UPDATE credentials SET revoked = now() WHERE access_key = $1 AND revoked IS NULL RETURNING 1", access_key))
