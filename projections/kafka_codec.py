"""How a logged event travels through Kafka: its family (topic), key, headers and value, and back.

Topic per event family (`taskstream.tasks`, `taskstream.projects`, `taskstream.queues`, `taskstream.models`);
key = stream id, so every event of one stream lands in one partition, in log order (per-stream order is all Kafka
keeps). The value carries the
whole recorded event, so a consumer needs nothing else to apply it; the headers repeat what a router needs without
parsing the value.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from taskstream.commands.store import RecordedEvent
from taskstream.schemas import json_codec
from taskstream.schemas.events import REGISTRY, ProjectCreated
from taskstream.schemas.model_events import ModelChanged, ModelCreated, ModelDeleted
from taskstream.schemas.queue_events import QueueCreated, QueueDeleted, QueueEntryChanged

TOPIC_PREFIX = "taskstream."
FAMILIES = ("tasks", "projects", "queues", "models")

# Event classes of project, queue and model streams; every other event belongs to a task stream.
_FAMILY_BASES: tuple[tuple[tuple[type, ...], str], ...] = (
    ((ProjectCreated,), "projects"), ((QueueCreated, QueueEntryChanged, QueueDeleted), "queues"),
    ((ModelCreated, ModelChanged, ModelDeleted), "models"))


def family_of(event_type: str) -> str:
    """The family (stream kind) of an event type: 'tasks' unless it is an event of a project, queue or model
    stream."""
    cls = REGISTRY.get(event_type)
    for bases, family in _FAMILY_BASES:
        if cls is not None and issubclass(cls, bases):
            return family
    return "tasks"


def types_of(families: tuple[str, ...]) -> list[str]:
    """Every known event type of the given families."""
    return sorted(t for t in REGISTRY if family_of(t) in families)


def topic_of(event_type: str, prefix: str = TOPIC_PREFIX) -> str:
    return prefix + family_of(event_type)


def all_topics(prefix: str = TOPIC_PREFIX) -> list[str]:
    return [prefix + family for family in FAMILIES]


def encode(event: RecordedEvent, prefix: str = TOPIC_PREFIX) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    """(topic, key, value, headers) of a recorded event; `prefix` names the topics (`taskstream.` by default)."""
    value = json_codec.dumps({
        "event_id": str(event.event_id), "stream_id": event.stream_id, "version": event.version,
        "type": event.type, "schema_version": event.schema_version, "data": event.data,
        "metadata": event.metadata, "recorded": event.recorded.isoformat(),
        "txid": event.txid, "position": event.position,
    })
    headers = [
        ("event_id", str(event.event_id).encode()), ("type", event.type.encode()),
        ("stream_version", str(event.version).encode()),
        ("log_position", f"{event.txid}:{event.position}".encode()),
    ]
    return topic_of(event.type, prefix), event.stream_id.encode(), value, headers


def decode(value: bytes) -> RecordedEvent:
    """The recorded event a Kafka message carries (raises ValueError/KeyError on a malformed message)."""
    raw: dict[str, Any] = json_codec.loads(value)
    return RecordedEvent(
        position=int(raw["position"]), txid=int(raw["txid"]), stream_id=raw["stream_id"],
        version=int(raw["version"]), event_id=uuid.UUID(raw["event_id"]), type=raw["type"],
        schema_version=int(raw["schema_version"]), data=raw["data"], metadata=raw["metadata"],
        recorded=datetime.fromisoformat(raw["recorded"]),
    )
