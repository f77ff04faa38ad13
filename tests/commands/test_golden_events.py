"""G12 "Old events stay readable": stored events, written by hand in `tests/fixtures/events/*.json` as the event
log holds them (type, schema_version, data), still deserialise and fold to the documents they produced.

Each fixture holds `before` (the stream's state, null for a first event) and `after` (the expected state, null
once the stream is deleted). The fixtures are never regenerated from the code: a change of a model that makes
an old event unreadable, or fold differently, fails here and needs an upcaster (`schemas.events.UPCASTERS`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from taskstream.commands.evolve import evolve
from taskstream.schemas.events import REGISTRY, UPCASTERS, TaskChanged, load_event

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def fixtures() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text())) for path in sorted(FIXTURES.glob("*.json"))]


@pytest.mark.parametrize(("name", "fixture"), fixtures(), ids=[name for name, _ in fixtures()])
def test_stored_event_deserialises_and_folds_to_the_expected_document(name: str, fixture: dict[str, Any]) -> None:
    assert set(fixture) == {"type", "schema_version", "data", "before", "after"}, name
    event = load_event(fixture["type"], fixture["schema_version"], fixture["data"])
    assert event.type_name() == fixture["type"]
    assert evolve(fixture["before"], event) == fixture["after"]


def test_every_version_of_every_registered_event_type_has_a_fixture() -> None:
    stored = {(f["type"], f["schema_version"]) for _, f in fixtures()}
    expected = {(name, version) for name, cls in REGISTRY.items() for version in range(1, cls.schema_version + 1)}
    assert sorted(expected - stored) == [], "event versions without a golden fixture"
    assert sorted(stored - expected) == [], "fixtures of unknown event types or versions"


class ProbeRenamed(TaskChanged):
    """A test-only event at schema version 2: version 1 stored its changes under `fields` and had no `unset`."""

    schema_version: ClassVar[int] = 2


def _probe_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"set": data["fields"], "unset": [], "quiet": data.get("quiet", [])}


def test_an_upcaster_lifts_an_old_stored_version_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    # monkeypatch restores both registries after the test, so the probe never leaks into other tests.
    monkeypatch.setitem(REGISTRY, "ProbeRenamed", ProbeRenamed)
    monkeypatch.setitem(UPCASTERS, ("ProbeRenamed", 1), _probe_v1_to_v2)
    stored_v1 = {"fields": {"comment": "from v1", "last_change": "2024-03-01T10:00:00+00:00"}}
    event = load_event("ProbeRenamed", 1, stored_v1)
    assert event == ProbeRenamed(set=stored_v1["fields"])
    assert stored_v1 == {"fields": {"comment": "from v1", "last_change": "2024-03-01T10:00:00+00:00"}}
    before = {"id": "t1", "comment": "old"}
    assert evolve(before, event) == {"id": "t1", "comment": "from v1", "last_change": "2024-03-01T10:00:00+00:00"}
    current = load_event("ProbeRenamed", 2, {"set": {"comment": "from v2"}})
    assert evolve(before, current) == {"id": "t1", "comment": "from v2"}


def test_an_old_version_without_an_upcaster_is_refused_not_misread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "ProbeRenamed", ProbeRenamed)
    with pytest.raises(KeyError):
        load_event("ProbeRenamed", 1, {"fields": {"comment": "x"}})


_REGISTRY_ON_ITS_OWN = """
import importlib, json, pkgutil
from taskstream.schemas.events import REGISTRY
registered = sorted(REGISTRY)
import taskstream.schemas as package
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"taskstream.schemas.{module.name}")
from taskstream.schemas.event_base import Event
def leaves(cls):
    return [leaf for sub in cls.__subclasses__() for leaf in leaves(sub)] or [cls]
print(json.dumps([registered, sorted(cls.type_name() for cls in leaves(Event))]))
"""


def test_importing_the_events_module_alone_registers_every_event_type() -> None:
    # A fresh interpreter: in this one, other tests' imports could have completed the registry.
    out = subprocess.run([sys.executable, "-c", _REGISTRY_ON_ITS_OWN], check=True, capture_output=True, text=True)
    registered, defined = json.loads(out.stdout)
    assert registered == defined
