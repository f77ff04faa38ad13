"""Pure mapping of what a client names (a URL path below `/files/`, a multipart field name) to a file's path
inside its company's root. No I/O: every rule here is tested without a server.

A file path is a tuple of segments. A segment is refused (BadPath, answered 400) when it is empty, `.` or `..`,
or holds a separator (`/`, `\\`), NUL or another control character, or is longer than a file name may be. In a URL
the segments are split on the raw (still percent-encoded) path, so an encoded separator (`%2f`, `%5c`) or an
encoded dot segment (`%2e%2e`) decodes inside one segment and is refused by the same rules; nothing is decoded
twice. A multipart field name is the SDK's object path, unquoted, usually with a leading `/` (the reference files
server strips it); it is split on `/` as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote_to_bytes

MAX_SEGMENT_BYTES = 255  # the longest file name Linux file systems accept
MAX_PATH_BYTES = 4000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COMPANY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BadPath(ValueError):
    """A path that does not name a file inside the caller's root: answered 400."""


def check_segment(segment: str) -> str:
    """`segment` if it is a safe file or folder name, else BadPath saying why."""
    if segment in ("", ".", ".."):
        raise BadPath(f"empty, '.' or '..' path segment: {segment!r}")
    if "/" in segment or "\\" in segment:
        raise BadPath(f"path segment holds a separator: {segment!r}")
    if _CONTROL.search(segment):
        raise BadPath(f"path segment holds a control character: {segment!r}")
    if len(segment.encode()) > MAX_SEGMENT_BYTES:
        raise BadPath(f"path segment longer than {MAX_SEGMENT_BYTES} bytes")
    return segment


def _checked(segments: list[str]) -> tuple[str, ...]:
    parts = tuple(check_segment(segment) for segment in segments)
    if len("/".join(parts).encode()) > MAX_PATH_BYTES:
        raise BadPath(f"path longer than {MAX_PATH_BYTES} bytes")
    return parts


def url_file_path(raw: bytes) -> tuple[str, ...]:
    """The file path named by `raw`, the percent-encoded URL path below the files prefix (no leading `/`).

    An empty `raw` names the root (an empty tuple: where a POST without a path stores its fields)."""
    if not raw:
        return ()
    segments = []
    for raw_segment in raw.split(b"/"):
        try:
            segments.append(unquote_to_bytes(raw_segment).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BadPath("path is not UTF-8") from exc
    return _checked(segments)


def field_file_path(name: str, base: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The file path a multipart field named `name` is stored at, below `base` (the path the POST went to).

    Leading slashes are stripped as the reference files server does (the SDK sends `/project/task/...`)."""
    stripped = name.lstrip("/")
    if not stripped:
        raise BadPath("multipart field without a file path as its name")
    return base + _checked(stripped.split("/"))


def company_root(root: Path, company: str) -> Path:
    """The folder of `company`'s files below `root` (company ids are ours, but are checked to be one name)."""
    if not _COMPANY.match(company):
        raise BadPath(f"company id is not a folder name: {company!r}")
    return root / company


def file_location(company_dir: Path, parts: tuple[str, ...]) -> Path:
    """Where the file `parts` of a company lives. `parts` are checked segments, so the result stays below
    `company_dir` lexically; symbolic links on disk are checked where the file is opened (`storage.py`)."""
    if not parts:
        raise BadPath("no file path given")
    return company_dir.joinpath(*parts)


def display(parts: tuple[str, ...]) -> str:
    """The path as stored in the catalogue and echoed to clients: segments joined by `/`."""
    return "/".join(parts)
