"""Real Kafka brokers for the tests (deploy/kafka/kafka.sh) and a recording consumer."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from taskstream.commands.store import RecordedEvent
from taskstream.projections.kafka_codec import all_topics
from taskstream.projections.subscription import KafkaSubscription

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"
PROBE = ROOT / "deploy" / "kafka" / "kafka_probe.py"


def answers(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    return subprocess.run([sys.executable, str(PROBE), host, port, "3"], capture_output=True).returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """A broker run by kafka.sh; `env` selects its data dir and ports (empty: the default shared broker)."""

    port: int = 9092
    env: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def run(self, command: str) -> None:
        done = await asyncio.to_thread(subprocess.run, ["bash", str(KAFKA_SH), command],
                                       env={**os.environ, **self.env}, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"kafka.sh {command} failed: {done.stderr[-2000:]}")

    @classmethod
    def private(cls) -> Broker:
        """An isolated broker (own data dir and ports): stopping it disturbs nobody else."""
        port = free_port()
        data = tempfile.mkdtemp(prefix="taskstream-kafka-")
        return cls(port, {"KAFKA_DATA_DIR": data, "KAFKA_PORT": str(port),
                          "KAFKA_CONTROLLER_PORT": str(free_port())})


class Recorder:
    """A subscriber keeping what it applied, in order (the consumer side of G8)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.applied: list[RecordedEvent] = []

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        self.applied.append(event)


async def create_topics(bootstrap: str, prefix: str) -> None:
    """The relay's topics under `prefix`, 8 partitions each, created up front (no auto-creation race)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=8, replication_factor=1) for t in all_topics(prefix)])
    finally:
        await admin.close()


async def start_consumer(pool: asyncpg.Pool, bootstrap: str, prefix: str, name: str
                         ) -> tuple[Recorder, asyncio.Task[None]]:
    """A Kafka-fed Recorder in its own consumer group, returned once it has its partitions."""
    await create_topics(bootstrap, prefix)
    recorder = Recorder(name)
    ready = asyncio.Event()
    subscription = KafkaSubscription(pool, recorder, bootstrap, all_topics(prefix), group_id=name)
    task = asyncio.create_task(subscription.run(ready))
    await asyncio.wait_for(ready.wait(), 60)
    return recorder, task


async def wait_for(condition: object, timeout: float, interval: float = 0.2) -> None:
    """Poll `condition()` until true; raise AssertionError after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
