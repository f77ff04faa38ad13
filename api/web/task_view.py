"""How the task page presents a task document: labelled rows, times, durations, parameters and the artifacts and
models lists. Pure: no I/O; the pages pass in what they read.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from taskstream.api.web.artifacts import external_link, files_link, preview
from taskstream.api.web.diff import Change, display

MAX_ARTIFACTS = 500
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$")
MAX_PARAMS = 5000


def when(value: Any) -> str:
    """An ISO time as `2026-12-05 02:52:24 UTC` ('' when absent or not a time)."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.utcoffset() is not None else "")


def readable_change(change: Change) -> Change:
    """A history change with ISO times shown as `when` shows them."""
    return replace(change, before=_time_text(change.before), after=_time_text(change.after))


def _time_text(text: str) -> str:
    return when(text) if _ISO_TIME.match(text) else text


def when_ms(value: Any) -> str:
    """Milliseconds since the epoch (a reported event's timestamp) as `2026-12-05 02:52:24.123` UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**14:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def duration(seconds: Any) -> str:
    """Seconds as `1h 02m 03s` ('' when absent)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return ""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def size(count: Any) -> str:
    """Bytes as `1.2 MB` ('' when absent)."""
    if isinstance(count, bool) or not isinstance(count, int | float) or count < 0:
        return ""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""


def params(task: dict[str, Any]) -> list[dict[str, str]]:
    """The hyper-parameters as rows `{section, name, value, type, description}`, by section then name."""
    rows = []
    sections = task.get("hyperparams") if isinstance(task.get("hyperparams"), dict) else {}
    for section, items in sorted(sections.items()):
        for name, item in sorted(items.items()) if isinstance(items, dict) else ():
            item = item if isinstance(item, dict) else {"value": item}
            rows.append({"section": str(section), "name": str(name), "value": display(item.get("value")),
                         "type": display(item.get("type")), "description": display(item.get("description"))})
    return rows[:MAX_PARAMS]


def configurations(task: dict[str, Any]) -> list[dict[str, str]]:
    """The configuration items `{name, type, value, description}` by name."""
    items = task.get("configuration") if isinstance(task.get("configuration"), dict) else {}
    found = []
    for name, item in sorted(items.items()):
        item = item if isinstance(item, dict) else {"value": item}
        found.append({"name": str(name), "type": display(item.get("type")), "value": display(item.get("value")),
                      "description": display(item.get("description"))})
    return found[:MAX_PARAMS]


def artifacts(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's artifacts (`execution.artifacts`) with a download link when this server holds the file, an
    outside link when it is an http(s) address, and the preview that fits."""
    found = ((task.get("execution") or {}).get("artifacts") or [])[:MAX_ARTIFACTS]
    rows = []
    for item in found:
        if not isinstance(item, dict):
            continue
        rows.append({"key": display(item.get("key")), "type": display(item.get("type")),
                     "mode": display(item.get("mode")), "uri": display(item.get("uri")),
                     "size": size(item.get("content_size")), "hash": display(item.get("hash")),
                     "link": files_link(item.get("uri")), "external": external_link(item.get("uri")),
                     "preview": preview(item)})
    return sorted(rows, key=lambda r: (r["mode"] != "output", r["key"]))


def model_links(task: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """`{input: [{name, model}], output: [...]}` of the task's models (names as the task records them)."""
    models = task.get("models") if isinstance(task.get("models"), dict) else {}
    return {mode: [{"name": display(m.get("name")), "model": display(m.get("model"))}
                   for m in (models.get(mode) or []) if isinstance(m, dict)][:MAX_ARTIFACTS]
            for mode in ("input", "output")}


def model_row(link: dict[str, str], model: dict[str, Any] | None) -> dict[str, Any]:
    """A model line of the models tab: the task's name for it, and what the model says (None when unreadable)."""
    if model is None:
        return {**link, "found": False}
    return {**link, "found": True, "model_name": display(model.get("name")),
            "framework": display(model.get("framework")), "ready": bool(model.get("ready")),
            "uri": display(model.get("uri")), "link": files_link(model.get("uri")),
            "external": external_link(model.get("uri")), "created": when(model.get("created")),
            "tags": [display(t) for t in model.get("tags") or []]}


def scalar_metrics(task: dict[str, Any]) -> list[str]:
    """The names of the metrics the task reported scalars of (its `last_metrics`), sorted: the scalars tab's charts,
    each read when it comes into view. A metric of single values only is among them (its chart then goes away)."""
    found = task.get("last_metrics") if isinstance(task.get("last_metrics"), dict) else {}
    names = {str(v.get("metric")) for variants in found.values() if isinstance(variants, dict)
             for v in variants.values() if isinstance(v, dict) and v.get("metric")}
    return sorted(names)


def script_rows(task: dict[str, Any]) -> list[tuple[str, str]]:
    """The execution tab's labelled values of `script` (empty ones left out)."""
    script = task.get("script") if isinstance(task.get("script"), dict) else {}
    labels = (("repository", "Repository"), ("branch", "Branch"), ("tag", "Tag"), ("version_num", "Commit"),
              ("entry_point", "Entry point"), ("working_dir", "Working directory"), ("binary", "Binary"))
    return [(label, display(script.get(key))) for key, label in labels if display(script.get(key))]


def requirements(task: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, text) of the recorded requirements (pip, conda, ...), non-empty ones."""
    script = task.get("script") if isinstance(task.get("script"), dict) else {}
    found = script.get("requirements") if isinstance(script.get("requirements"), dict) else {}
    return [(str(kind), display(text)) for kind, text in sorted(found.items()) if display(text).strip()]


def container_rows(task: dict[str, Any]) -> list[tuple[str, str]]:
    container = task.get("container") if isinstance(task.get("container"), dict) else {}
    labels = (("image", "Image"), ("arguments", "Arguments"), ("setup_shell_script", "Setup shell script"))
    return [(label, display(container.get(key))) for key, label in labels if display(container.get(key))]
