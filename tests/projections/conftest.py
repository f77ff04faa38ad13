"""Kafka for the tests marked `kafka`: the broker at TASKSTREAM_TEST_KAFKA (default 127.0.0.1:9092), started
with deploy/kafka/kafka.sh if none answers there, and stopped at the end only if this session started it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.projections.kafka_helpers import Broker, answers


@pytest.fixture(scope="session")
async def kafka_bootstrap() -> AsyncIterator[str]:
    bootstrap = os.environ.get("TASKSTREAM_TEST_KAFKA", "127.0.0.1:9092")
    if answers(bootstrap):
        yield bootstrap
        return
    broker = Broker(port=int(bootstrap.rsplit(":", 1)[1]), env={"KAFKA_PORT": bootstrap.rsplit(":", 1)[1]})
    await broker.run("start")
    try:
        yield bootstrap
    finally:
        await broker.run("stop")
