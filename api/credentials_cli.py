"""`taskstream credentials create|list|revoke`."""

from __future__ import annotations

import argparse

import asyncpg

from taskstream.api.auth import generate_key_pair
from taskstream.api.database import add_credentials, bootstrap, migrate


async def run_credentials(url: str, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await bootstrap(conn, None, None)
        if args.action == "create":
            if not await conn.fetchval("SELECT 1 FROM users WHERE id = $1", args.user):
                print(f"no such user: {args.user}")
                return 2
            key, secret = generate_key_pair()
            await add_credentials(conn, args.user, key, secret)
            print(f"access key: {key}\nsecret key: {secret}")
        elif args.action == "list":
            rows = await conn.fetch(
                "SELECT access_key, user_id, created, revoked, last_used FROM credentials ORDER BY created")
            for r in rows:
                state = f"revoked {r['revoked']:%Y-%m-%d %H:%M}" if r["revoked"] else "active"
                print(f"{r['access_key']}  user={r['user_id']}  created={r['created']:%Y-%m-%d %H:%M}  {state}")
        else:
            done = await conn.fetchval(
                "UPDATE credentials SET revoked = now() WHERE access_key = $1 AND revoked IS NULL RETURNING 1",
                args.access_key)
            print("revoked" if done else f"no active key pair {args.access_key}")
            return 0 if done else 1
        return 0
    finally:
        await conn.close()
