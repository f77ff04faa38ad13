"""`taskstream credentials create|list|revoke`."""

from __future__ import annotations

import argparse

import asyncpg

from taskstream.api.database import migrate
from taskstream.commands.accounts import (
    add_credentials,
    bootstrap,
    generate_key_pair,
    key_pairs,
    revoke,
    user_exists,
)


async def run_credentials(url: str, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await bootstrap(conn, None, None)
        if args.action == "create":
            if not await user_exists(conn, args.user):
                print(f"no such user: {args.user}")
                return 2
            key, secret = generate_key_pair()
            await add_credentials(conn, args.user, key, secret)
            print(f"access key: {key}\nsecret key: {secret}")
        elif args.action == "list":
            for pair in await key_pairs(conn):
                state = f"revoked {pair.revoked:%Y-%m-%d %H:%M}" if pair.revoked else "active"
                print(f"{pair.access_key}  user={pair.user_id}  created={pair.created:%Y-%m-%d %H:%M}  {state}")
        else:
            done = await revoke(conn, args.access_key)
            print("revoked" if done else f"no active key pair {args.access_key}")
            return 0 if done else 1
        return 0
    finally:
        await conn.close()
