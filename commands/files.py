"""The catalogue of stored files (table `files`, `migrations/010_files.sql`): which company owns a file under the
files endpoint, its size, content type, sha256, who uploaded it and when.

Why the write side owns it and writes it directly, not from the log: the bytes it describes are on disk, not in
the log, so a read model rebuilt from events could only claim files that replay cannot bring back (and would keep
claiming them after the disk lost them). The catalogue is an index of the files folder kept in step with it: a row
is written after the file is renamed into place and removed when the file is deleted, so it never names a partial
upload. Like accounts, it is state of its own that no projection could rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class StoredFile:
    """One file as catalogued: `path` is relative to its company's root, segments joined by `/`."""

    company: str
    path: str
    size: int
    content_type: str
    sha256: str
    uploaded_by: str


async def record_file(pool: asyncpg.Pool, stored: StoredFile) -> None:
    """Catalogue `stored` (an upload to an existing path replaces its row, as the file replaced the bytes)."""
    await pool.execute(
        "INSERT INTO files (company, path, size, content_type, sha256, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (company, path) DO UPDATE SET size = EXCLUDED.size, content_type = EXCLUDED.content_type, "
        "sha256 = EXCLUDED.sha256, uploaded_by = EXCLUDED.uploaded_by, uploaded = now()",
        stored.company, stored.path, stored.size, stored.content_type, stored.sha256, stored.uploaded_by,
    )


async def forget_file(pool: asyncpg.Pool, company: str, path: str) -> None:
    """Remove the row of a deleted file (nothing if it had none)."""
    await pool.execute("DELETE FROM files WHERE company = $1 AND path = $2", company, path)


async def file_content_type(pool: asyncpg.Pool, company: str, path: str) -> str | None:
    """The content type the file was uploaded with, or None when it is not catalogued."""
    value = await pool.fetchval("SELECT content_type FROM files WHERE company = $1 AND path = $2", company, path)
    return None if value is None else str(value)
