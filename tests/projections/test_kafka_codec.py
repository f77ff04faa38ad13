"""The relay's message codec carries every value the log may hold, exactly (pure logic, no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from taskstream.commands.store import RecordedEvent
from taskstream.projections.kafka_codec import decode, encode


def recorded(data: dict[str, object]) -> RecordedEvent:
    return RecordedEvent(position=7, txid=3, stream_id="t1", version=2, event_id=uuid.uuid4(), type="TaskEdited",
                         schema_version=1, data=data, metadata={"company": "c"}, recorded=datetime.now(UTC))


def test_an_integer_beyond_64_bits_in_a_stored_event_is_published_and_read_back_exactly() -> None:
    # Such values are in logs written before requests were checked, and jsonb turns a float 1e20 into one.
    event = recorded({"set": {"runtime.x": 100000000000000000000, "runtime.y": -(2**70)}})
    topic, key, value, _ = encode(event)
    assert decode(value).data == event.data
    assert (topic, key) == ("taskstream.tasks", b"t1")


def test_ordinary_events_round_trip() -> None:
    event = recorded({"set": {"name": "n\u00e9", "runtime.z": 1.5}})
    assert decode(encode(event)[2]) == event
