"""`taskstream credentials create|list|revoke|rotate-secret`."""

from __future__ import annotations

import argparse

import asyncpg

from taskstream.api.auth import CACHE_SECONDS
from taskstream.api.database import migrate
from taskstream.commands.accounts import (
    add_credentials,
    bootstrap,
    generate_key_pair,
    key_pairs,
    revoke,
    rotate_token_secret,
    user_exists,
)

ROTATED = (f"token signing secret rotated: every token stops working within {CACHE_SECONDS:.0f} s on running "
           "servers (at once on servers started from now on); clients log in again with their key pairs")


async def run_credentials(url: str, args: argparse.Namespace) -> int:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        boot = await bootstrap(conn, None, None)
        if boot.access_key:  # the database had no active key pair: never throw away the one made for it
            print(f"no active key pair existed; created one for __admin__\naccess key: {boot.access_key}\n"
                  f"secret key: {boot.secret_key}")
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
                used = (f"last used {pair.last_used:%Y-%m-%d %H:%M} from {pair.last_used_from or '?'}"
                        if pair.last_used else "never used")
                print(f"{pair.access_key}  user={pair.user_id}  created={pair.created:%Y-%m-%d %H:%M}  {state}  "
                      f"{used}")
        elif args.action == "rotate-secret":
            await rotate_token_secret(conn)
            print(ROTATED)
        else:
            done = await revoke(conn, args.access_key)
            print("revoked" if done else f"no active key pair {args.access_key}")
            return 0 if done else 1
        return 0
    finally:
        await conn.close()
