"""The API contract as data: the HOCON service files parsed with pyhocon into an endpoint/version table.

One source of truth: routing (which endpoints exist, from which version), request validation (required fields,
types, enums, minimum list lengths) and the OpenAPI document are all read from the files in `schemas/hocon/`.
`_implementations.conf` says, per endpoint, the minimum version its implementation serves (the reference server
routes by that, not by the schema's version blocks: tasks-behaviour.md §1.5) and which endpoints take their body
without a request model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pyhocon import ConfigFactory, ConfigTree

from taskstream.schemas.enums import MAX_API_VERSION

HOCON_DIR = Path(__file__).parent / "hocon"
SERVICES = ("tasks", "auth", "projects", "queues", "events", "workers", "server", "models")
_VERSION = re.compile(r"^\d+\.\d+$")

Version = tuple[int, int]


def parse_version(text: str) -> Version:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def format_version(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Endpoint:
    """One `service.action`: its schema per documented version and the version its implementation starts at."""

    name: str
    min_version: Version
    versions: dict[Version, dict[str, Any]]
    validate: bool = True
    internal: bool = False
    definitions: dict[str, Any] = field(default_factory=dict, compare=False)
    min_items: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def latest(self) -> dict[str, Any]:
        return self.versions[max(self.versions)]

    @property
    def request_schema(self) -> dict[str, Any]:
        """The newest request schema: fields of later versions are accepted at any version (§1.5); list fields
        get the minimum lengths of the reference's request models that the contract does not state (§1.8)."""
        schema = dict(self.latest.get("request") or {})
        if self.min_items:
            properties = dict(schema.get("properties") or {})
            for name, minimum in self.min_items.items():
                properties[name] = {**properties.get(name, {}), "minItems": minimum}
            schema["properties"] = properties
        return schema


@dataclass(frozen=True)
class Contract:
    endpoints: dict[str, Endpoint]
    max_version: Version

    def resolve(self, name: str, requested: Version) -> Endpoint | None:
        """The endpoint serving `name` at `requested`, or None (unknown, or below its minimum version)."""
        endpoint = self.endpoints.get(name)
        if endpoint is None or requested < endpoint.min_version:
            return None
        return endpoint


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigTree):
        # pyhocon keeps the quotes of quoted keys (`"$ref"`): a key's name is without them.
        return {k.strip('"'): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _service_files(service: str) -> list[Path]:
    """`<service>.conf`, then the service's extra files `<service>_*.conf` (endpoints beyond the given contract)."""
    main = HOCON_DIR / f"{service}.conf"
    return ([main] if main.exists() else []) + sorted(HOCON_DIR.glob(f"{service}_*.conf"))


def _parsed_files() -> dict[str, Any]:
    """Every HOCON file of the contract parsed, as plain data keyed by file name, from the parse cache when the
    files are the ones it was made of.

    Why a cache: pyhocon takes seconds to parse the contract (most of `taskstream serve`'s start-up); the result
    depends only on the files' bytes and pyhocon's version, so it is kept as JSON under `$XDG_CACHE_HOME/taskstream`
    (default `~/.cache/taskstream`), named by their hash. A cache that cannot be read or written is ignored."""
    digest = hashlib.sha256(metadata.version("pyhocon").encode())
    for path in sorted(HOCON_DIR.glob("*.conf")):  # every file: the parsed ones include others
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    files = [HOCON_DIR / "_implementations.conf", *(p for service in SERVICES for p in _service_files(service))]
    cached = _cache_dir() / f"contract-{digest.hexdigest()[:32]}.json"
    try:
        return dict(json.loads(cached.read_text()))
    except (OSError, ValueError):
        pass
    parsed = {path.name: _plain(ConfigFactory.parse_file(str(path))) for path in files}
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(parsed))
        partial.replace(cached)  # atomic: a reader sees the whole file or none
    except (OSError, TypeError, ValueError):
        pass
    return parsed


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "taskstream"


def _load_service(service: str, tree: dict[str, Any], implementations: dict[str, Any]) -> list[Endpoint]:
    definitions = tree.get("_definitions", {})
    endpoints = []
    for action, body in tree.items():
        if action.startswith("_"):
            continue
        name = f"{service}.{action}"
        versions = {
            parse_version(key.strip('"')): spec
            for key, spec in body.items()
            if _VERSION.match(key.strip('"'))
        }
        impl = implementations.get(name, {})
        endpoints.append(
            Endpoint(
                name=name,
                min_version=parse_version(str(impl.get("min_version", "1.0"))),
                versions=versions,
                validate=bool(impl.get("validate", True)),
                internal=bool(body.get("internal", False)),
                definitions=definitions,
                min_items={k: int(v) for k, v in (impl.get("min_items") or {}).items()},
            )
        )
    return endpoints


@cache
def load_contract() -> Contract:
    """Parse every service file once per process (about a second: pyhocon resolves the substitutions)."""
    parsed = _parsed_files()
    implementations = {f"{s}.{a}": v for s, acts in parsed["_implementations.conf"].items() for a, v in acts.items()}
    max_version = parse_version(MAX_API_VERSION)
    endpoints: dict[str, Endpoint] = {}
    for service in SERVICES:
        for path in _service_files(service):
            for endpoint in _load_service(service, parsed[path.name], implementations):
                endpoints[endpoint.name] = endpoint
    return Contract(endpoints=endpoints, max_version=max_version)
