"""The `taskstream relay`, `subscribe`, `replay` and `history` commands (registered by `api.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from taskstream.api.gc_settings import settle_garbage_collector
from taskstream.projections.replay_models import READ_MODELS


def _with_database(args: argparse.Namespace, work: Any) -> int:
    """Run `work(url)` against TASKSTREAM_DATABASE_URL or the embedded PostgreSQL under --home (migrated)."""
    from taskstream.api.cli import _database_url
    from taskstream.api.server import prepare_database

    url, embedded = _database_url(Path(args.home))
    try:
        asyncio.run(prepare_database(url))
        return int(asyncio.run(work(url)) or 0)
    finally:
        if embedded is not None:
            embedded.stop()  # type: ignore[attr-defined]


def relay(args: argparse.Namespace) -> int:
    from taskstream.projections.relay import Relay

    if not args.kafka:
        raise SystemExit("taskstream relay: give --kafka BOOTSTRAP (or env TASKSTREAM_KAFKA_BOOTSTRAP)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settle_garbage_collector()
    return _with_database(args, lambda url: Relay(url, args.kafka, topic_prefix=args.topic_prefix).run())


SUBSCRIBERS = ("audit",)


def subscribe(args: argparse.Namespace) -> int:
    """Run one subscriber until Ctrl-C: from the log (default) or from Kafka (`--kafka`, its own consumer group)."""
    import asyncpg

    from taskstream.projections.audit import AuditTrail
    from taskstream.projections.kafka_codec import topic_of
    from taskstream.projections.subscription import KafkaSubscription, LogSubscription

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settle_garbage_collector()

    async def work(url: str) -> int:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            subscriber = AuditTrail()
            if args.kafka:
                topics = [topic_of("TaskCreated", args.topic_prefix)]
                await KafkaSubscription(pool, subscriber, args.kafka, topics).run()
            else:
                await LogSubscription(pool, subscriber).run()
        finally:
            await pool.close()
        return 0

    return _with_database(args, work)


def replay(args: argparse.Namespace) -> int:
    from taskstream.projections.replay import replay as run_replay

    names = list(READ_MODELS) if args.all else [args.projection]

    async def work(url: str) -> int:
        for result in await run_replay(url, names, args.to_position):
            where = "swapped in" if result.swapped else f"left in {', '.join(result.tables)}"
            rate = result.events / result.seconds if result.seconds else 0
            print(f"{result.name}: {result.events} events in {result.seconds:.1f} s ({rate:,.0f}/s), {where}")
        return 0

    return _with_database(args, work)


def history(args: argparse.Namespace) -> int:
    import asyncpg

    from taskstream.projections.audit import task_history

    async def work(url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            entries = await task_history(conn, args.task_id, None)
        finally:
            await conn.close()
        if entries is None:
            print(f"no history for task {args.task_id}")
            return 1
        for entry in entries:
            print(json.dumps(entry))
        return 0

    return _with_database(args, work)


def add_commands(sub: Any) -> None:
    bootstrap = os.environ.get("TASKSTREAM_KAFKA_BOOTSTRAP")
    run = sub.add_parser("relay", help="publish the event log to Kafka (one leader at a time, others stand by)")
    run.add_argument("--kafka", default=bootstrap, help="Kafka bootstrap servers (env TASKSTREAM_KAFKA_BOOTSTRAP)")
    run.add_argument("--topic-prefix", default=os.environ.get("TASKSTREAM_KAFKA_TOPIC_PREFIX", "taskstream."),
                     help="topics are <prefix>tasks, <prefix>projects, <prefix>queues (default taskstream.)")
    run.set_defaults(func=relay)
    follow = sub.add_parser("subscribe", help="run a subscriber (audit) from the log, or from Kafka with --kafka; "
                                              "its writes and checkpoint commit together, so redelivery is harmless")
    follow.add_argument("name", choices=SUBSCRIBERS, help="the subscriber to run")
    follow.add_argument("--kafka", default=None, help="read Kafka (a relay must be publishing) instead of the log")
    follow.add_argument("--topic-prefix", default=os.environ.get("TASKSTREAM_KAFKA_TOPIC_PREFIX", "taskstream."),
                        help="topic prefix the relay uses (default taskstream.)")
    follow.set_defaults(func=subscribe)
    rebuild = sub.add_parser("replay", help="rebuild read models from the log and swap them in atomically")
    which = rebuild.add_mutually_exclusive_group(required=True)
    which.add_argument("--projection", choices=sorted(READ_MODELS), help="the read model to rebuild")
    which.add_argument("--all", action="store_true", help="rebuild every read model")
    rebuild.add_argument("--to-position", type=int, default=None,
                         help="rebuild as of this log position into <table>_at_<N> (the live model is kept)")
    rebuild.set_defaults(func=replay)
    show = sub.add_parser("history", help="print a task's audit trail, one JSON object per change")
    show.add_argument("task_id")
    show.set_defaults(func=history)
