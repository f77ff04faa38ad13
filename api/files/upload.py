"""Receiving a multipart upload as it streams in: each file part is written to a temporary file while it arrives
and renamed to its final name once its closing boundary has arrived (`storage.FileStore.place`).

The parser (python-multipart, push-based) is fed the body a chunk at a time from a worker thread, so the event
loop never waits on the disk and at most one chunk of the body is held in memory. Whatever goes wrong (a refused
path, the size limit, a full disk, a broken connection, a body that ends inside a part) `abort` removes the
temporary file of the part in progress; parts completed before stay, complete, under their final names.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from taskstream.api.files.paths import BadPath, field_file_path
from taskstream.api.files.storage import FileStore, StorageFull, is_storage_full

MAX_PARTS = 1000  # files in one multipart POST
MAX_HEADER_BYTES = 16 * 1024  # header bytes of one part


class BadUpload(ValueError):
    """A body that is not a complete multipart/form-data upload: answered 400."""


class UploadTooLarge(Exception):
    """More file bytes than the limit: answered 413, nothing of the part in progress kept."""


@dataclass(frozen=True)
class ReceivedFile:
    parts: tuple[str, ...]
    size: int
    sha256: str
    content_type: str


def boundary_of(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` content type, else BadUpload."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise BadUpload("an upload is a multipart/form-data POST (one file per part, named by its path)")
    return bytes(options[b"boundary"])


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    parts: tuple[str, ...] | None = None
    content_type: str = "application/octet-stream"
    temp: Path | None = None
    handle: Any = None
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


class MultipartReceiver:
    """Feeds one request's body to the parser; completed files are collected in `completed` until taken."""

    def __init__(self, store: FileStore, company_dir: Path, base: tuple[str, ...], boundary: bytes,
                 limit: int) -> None:
        self.store, self.company_dir, self.base, self.limit = store, company_dir, base, limit
        self.received = 0
        self.parts = 0
        self._header_bytes = 0
        self.completed: list[ReceivedFile] = []
        self._part: _Part | None = None
        self._header: tuple[bytes, bytes] = (b"", b"")
        self._ended = False
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data,
            "on_part_end": self._end, "on_end": self._finished})

    def feed(self, chunk: bytes) -> list[ReceivedFile]:
        """Parse `chunk` (blocking: run in a worker thread); returns the files it completed."""
        try:
            self._parser.write(chunk)
        except OSError as exc:
            if is_storage_full(exc):
                raise StorageFull("the files volume is full") from exc
            raise
        except (BadPath, UploadTooLarge, StorageFull):
            raise
        except ValueError as exc:  # the parser's MultipartParseError
            raise BadUpload(f"malformed multipart body: {exc}") from exc
        done, self.completed = self.completed, []
        return done

    def finish(self) -> None:
        """The body ended: BadUpload unless it ended with the closing boundary."""
        if not self._ended or self._part is not None:
            raise BadUpload("the multipart body ended before its closing boundary")

    def abort(self) -> None:
        """Remove the temporary file of the part in progress (safe to call at any time, more than once)."""
        part, self._part = self._part, None
        if part is not None and part.temp is not None:
            if part.handle is not None:
                part.handle.close()
            part.temp.unlink(missing_ok=True)

    def _begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadUpload(f"more than {MAX_PARTS} parts in one upload")
        self._part = _Part()
        self._header_bytes = 0

    def _count(self, size: int) -> None:
        """Every data byte of the body counts toward the upload limit, ignored form fields included (headers are
        bounded apart: MAX_HEADER_BYTES per part, MAX_PARTS parts)."""
        self.received += size
        if self.received > self.limit:
            raise UploadTooLarge(f"upload larger than {self.limit} bytes (TASKSTREAM_MAX_UPLOAD_BYTES)")

    def _header_bytes_seen(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:  # headers are held in memory until the part's data begins
            raise BadUpload(f"part headers longer than {MAX_HEADER_BYTES} bytes")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes_seen(end - start)
        self._header = (self._header[0] + data[start:end], self._header[1])

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes_seen(end - start)
        self._header = (self._header[0], self._header[1] + data[start:end])

    def _header_end(self) -> None:
        assert self._part is not None
        self._part.headers[self._header[0].strip().lower()] = self._header[1].strip()
        self._header = (b"", b"")

    def _headers_finished(self) -> None:
        part = self._part
        assert part is not None
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        if b"filename" not in options:
            return  # a plain form field, not a file: ignored, as the reference files server does
        try:
            name = bytes(options.get(b"name", b"")).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadPath("field name is not UTF-8") from exc
        part.parts = field_file_path(name, self.base)
        declared = part.headers.get(b"content-type", b"").decode("latin-1")
        part.content_type = declared or mimetypes.guess_type(part.parts[-1])[0] or "application/octet-stream"
        part.temp = self.store.new_temp()
        part.handle = open(part.temp, "wb")  # noqa: SIM115 (closed in _end or abort)

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        part = self._part
        if part is None or part.handle is None:
            return
        piece = data[start:end]
        part.handle.write(piece)
        part.digest.update(piece)
        part.size += len(piece)

    def _end(self) -> None:
        part = self._part
        if part is None or part.handle is None or part.parts is None or part.temp is None:
            self._part = None
            return
        part.handle.flush()
        os.fsync(part.handle.fileno())  # the bytes are on disk before the name says the file is complete
        part.handle.close()
        part.handle = None
        self.store.place(part.temp, self.company_dir, part.parts)
        self._part = None
        self.completed.append(ReceivedFile(part.parts, part.size, part.digest.hexdigest(), part.content_type))

    def _finished(self) -> None:
        self._ended = True
