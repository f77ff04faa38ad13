"""The bytes of uploaded files on disk: one folder per company below the files root, and a folder of temporary
files beside them.

Layout under the root (`TASKSTREAM_FILES_ROOT`, default `<--home>/files`):
`companies/<company id>/<path>` holds each complete file; `tmp/<random>.part` holds uploads in progress. An upload
is written to a temporary file, flushed to disk, and only then renamed to its final name (one `rename`, atomic on
one file system: both folders are below the same root), so a crash, a broken connection, a full disk or a refused
size never leaves a partial file under a final name. A temporary file is removed as soon as its upload fails;
ones left by a crash are swept at the next start once they are an hour old (a live upload writes more often).

Symbolic links are never followed below the root: a path whose real location differs from its lexical one is
refused (400). The root itself may be a link (a shared volume). Checks and use are not one atomic step, so this
protects against links present on the volume, not against someone racing to plant one while a request runs.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from taskstream.api.files.paths import BadPath, company_root, file_location
from taskstream.api.limits import env_int

DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024**3
STALE_TEMP_SECONDS = 3600
_FULL = (errno.ENOSPC, errno.EDQUOT)


class StorageFull(Exception):
    """The files volume has no room (ENOSPC, EDQUOT): answered 507, the partial upload removed."""


def is_storage_full(exc: OSError) -> bool:
    return exc.errno in _FULL


@dataclass(frozen=True)
class FileSettings:
    """Where files are stored and the largest upload accepted (sum of the file parts of one request)."""

    root: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @classmethod
    def from_env(cls, home: Path | None = None) -> FileSettings:
        """TASKSTREAM_FILES_ROOT, else `files` below `home` (else TASKSTREAM_HOME, else ./.taskstream);
        TASKSTREAM_MAX_UPLOAD_BYTES (default 5 GiB)."""
        home = home or Path(os.environ.get("TASKSTREAM_HOME", ".taskstream"))
        root = Path(os.environ.get("TASKSTREAM_FILES_ROOT") or home / "files")
        return cls(root=root, max_upload_bytes=env_int("TASKSTREAM_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


class FileStore:
    """The files folder. Blocking file-system calls: the endpoint runs them in worker threads."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.companies = self.root / "companies"
        self.temp = self.root / "tmp"

    def company_dir(self, company: str) -> Path:
        return company_root(self.companies, company)

    def new_temp(self) -> Path:
        """A fresh, empty temporary file (created exclusively)."""
        self.temp.mkdir(parents=True, exist_ok=True)
        path = self.temp / f"{uuid.uuid4().hex}.part"
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return path

    def place(self, temp: Path, company_dir: Path, parts: tuple[str, ...]) -> Path:
        """Rename the complete `temp` to the file `parts` of the company (replacing an older file there).

        Why the retry: a concurrent delete removes folders it leaves empty, which may be the one just made here."""
        final = file_location(company_dir, parts)
        for _attempt in range(3):
            self._make_parents(final)
            try:
                os.replace(temp, final)
                return final
            except FileNotFoundError:
                continue
            except IsADirectoryError as exc:
                raise BadPath(f"a folder exists at {'/'.join(parts)}") from exc
        raise BadPath(f"the folder of {'/'.join(parts)} keeps disappearing")

    def _make_parents(self, final: Path) -> None:
        refuse_links(final)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise BadPath("a file exists where the path needs a folder") from exc

    def existing(self, company_dir: Path, parts: tuple[str, ...]) -> Path | None:
        """The regular file `parts` of the company, or None when there is none (a folder is none)."""
        path = file_location(company_dir, parts)
        refuse_links(path)
        return path if path.is_file() else None

    def delete(self, company_dir: Path, parts: tuple[str, ...]) -> bool:
        """Remove the file `parts` and the folders it leaves empty (up to the company's folder); False if none."""
        path = self.existing(company_dir, parts)
        if path is None:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        for folder in path.parents:
            if folder == company_dir or company_dir not in folder.parents:
                break
            try:
                folder.rmdir()
            except OSError:
                break
        return True

    def sweep_temps(self, now: float | None = None) -> int:
        """Remove temporary files older than STALE_TEMP_SECONDS (left by a crash); returns how many."""
        cutoff = (now or time.time()) - STALE_TEMP_SECONDS
        removed = 0
        for path in self.temp.glob("*.part") if self.temp.is_dir() else ():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def refuse_links(path: Path) -> None:
    """BadPath when a symbolic link sits anywhere on `path` below the (resolved) root."""
    if os.path.realpath(path) != str(path):
        raise BadPath("the path goes through a symbolic link")
