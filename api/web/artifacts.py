"""How the task page shows an artifact or a model file: a link the browser may follow (files served by this
server's files endpoint, same origin) and which preview fits it. Pure: no I/O.

Previews are bounded: the SDK's own preview text is cut at MAX_PREVIEW_CHARS; a small text file (at most
MAX_FETCHED_BYTES by its recorded size) is read by the page itself, its first FETCH_BYTES only; an image is shown
only when this server serves it (nothing is loaded from another host while a page loads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FILES_PREFIX = "/files/"
MAX_PREVIEW_CHARS = 20_000
MAX_FETCHED_BYTES = 1_000_000
FETCH_BYTES = 65_536
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
TEXT_SUFFIXES = (".txt", ".json", ".csv", ".tsv", ".yaml", ".yml", ".log", ".md", ".ini", ".conf", ".cfg", ".py")


def files_link(uri: Any) -> str | None:
    """The same-origin path of a file this server's files endpoint holds (`http://host:port/files/a/b` or
    `/files/a/b` -> `/files/a/b`), else None (another store: s3://, gs://, a path on a worker)."""
    if not isinstance(uri, str) or not uri:
        return None
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. `http://[::1/x` (an unclosed IPv6 address): no link
        return None
    if parts.scheme not in ("", "http", "https") or not parts.path.startswith(FILES_PREFIX):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def external_link(uri: Any) -> str | None:
    """An http(s) address to offer as a plain link (followed only when clicked), else None."""
    if not isinstance(uri, str):
        return None
    try:
        scheme = urlsplit(uri).scheme
    except ValueError:
        return None
    return uri if scheme in ("http", "https") and files_link(uri) is None else None


@dataclass(frozen=True)
class Preview:
    kind: str  # "image", "text" (the SDK's preview, in `text`), "fetch" (the page reads the file's start), "none"
    text: str = ""
    truncated: bool = False


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def preview(artifact: dict[str, Any]) -> Preview:
    """The preview that fits an artifact (`execution.artifacts[]`: uri, content_size, type_data.preview and
    content_type)."""
    type_data = artifact.get("type_data")
    if not isinstance(type_data, dict):
        type_data = {}
    link = files_link(artifact.get("uri"))
    path = urlsplit(artifact["uri"]).path.lower() if link else ""
    content_type = str(type_data.get("content_type") or "")
    if link and (content_type.startswith("image/") or path.endswith(IMAGE_SUFFIXES)):
        return Preview("image")
    text = type_data.get("preview")
    if isinstance(text, str) and text.strip():
        return Preview("text", text[:MAX_PREVIEW_CHARS], len(text) > MAX_PREVIEW_CHARS)
    size = _size(artifact.get("content_size"))
    textual = content_type.startswith("text/") or content_type == "application/json" or path.endswith(TEXT_SUFFIXES)
    if link and textual and size is not None and size <= MAX_FETCHED_BYTES:
        return Preview("fetch")
    return Preview("none")
