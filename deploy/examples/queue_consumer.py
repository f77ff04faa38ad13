#!/usr/bin/env python3
"""An example queue consumer: prints the id of every task it claims from one queue, in enqueue order.

Each entry is claimed through the same exactly-once claim as `queues.get_next_task` (G10), so any number of these
consumers (give each its own --name) and polling agents can share a queue: each task is claimed by exactly one.
A consumer restarted with the same --name resumes where it stopped; entries still waiting are claimed on start.

    python deploy/examples/queue_consumer.py --database-url postgresql://... --queue-name default --company C
    python deploy/examples/queue_consumer.py --database-url ... --queue QUEUE_ID --kafka 127.0.0.1:9092

Events come from the log (default) or from Kafka topic `taskstream.queues` (--kafka; `taskstream serve --kafka`
or `taskstream relay` must be publishing). Replace `run_task` with what your worker does with a task.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # runnable from a checkout without installing

import asyncpg  # noqa: E402

from taskstream.projections.kafka_codec import TOPIC_PREFIX  # noqa: E402
from taskstream.projections.queue_consumer import QueueConsumer  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TASKSTREAM_DATABASE_URL"),
                        help="the server's PostgreSQL (env TASKSTREAM_DATABASE_URL)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--queue", help="id of the queue to consume")
    which.add_argument("--queue-name", help="name of the queue to consume (with --company if names repeat)")
    parser.add_argument("--company", help="company id owning --queue-name")
    parser.add_argument("--name", default=f"{socket.gethostname()}-example",
                        help="this consumer's name: its progress is kept under it (default HOST-example)")
    parser.add_argument("--kafka", default=os.environ.get("TASKSTREAM_KAFKA_BOOTSTRAP"),
                        help="read the queue's events from this Kafka bootstrap (env TASKSTREAM_KAFKA_BOOTSTRAP)")
    parser.add_argument("--topic-prefix", default=TOPIC_PREFIX, help=f"Kafka topic prefix (default {TOPIC_PREFIX})")
    parser.add_argument("--count", type=int, default=0, help="stop after claiming this many tasks (default: never)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or TASKSTREAM_DATABASE_URL) is required")
    return args


async def queue_id_of(pool: asyncpg.Pool, args: argparse.Namespace) -> str:
    if args.queue:
        return str(args.queue)
    rows = await pool.fetch("SELECT id FROM queues WHERE name = $1 AND ($2::text IS NULL OR company = $2)",
                            args.queue_name, args.company)
    if len(rows) != 1:
        raise SystemExit(f"{len(rows)} queues named {args.queue_name!r}; give --queue or --company")
    return str(rows[0]["id"])


async def main(args: argparse.Namespace) -> None:
    pool = await asyncpg.create_pool(args.database_url, min_size=1, max_size=4)
    done = asyncio.Event()
    claimed = 0

    async def run_task(entry: dict[str, Any]) -> None:
        nonlocal claimed
        print(f"claimed {entry['task']} (enqueued {entry['added']})", flush=True)
        claimed += 1
        if claimed == args.count:
            done.set()

    try:
        queue_id = await queue_id_of(pool, args)
        consumer = QueueConsumer(pool, queue_id, args.name, run_task, bootstrap=args.kafka,
                                 topic_prefix=args.topic_prefix)
        running = asyncio.create_task(consumer.run())
        stopper = asyncio.create_task(done.wait())
        print(f"consuming queue {queue_id} as {args.name!r}", file=sys.stderr, flush=True)
        await asyncio.wait({running, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (running, stopper):
            task.cancel()
        await asyncio.gather(running, stopper, return_exceptions=True)
        if running.done() and not running.cancelled() and running.exception():
            raise running.exception()  # type: ignore[misc]
    finally:
        await pool.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parse_args()))
