"""Server settings of the embedded PostgreSQL, sized to the machine.

PostgreSQL's built-in defaults (128 MB shared buffers, 4 MB work memory, page costs for spinning disks) are
sized for a shared workstation; the embedded server is the database of a dedicated API server. The settings
are written to `taskstream.conf` in the data directory, included at the end of `postgresql.conf`, before the
server starts (the file is rewritten at every start, so new defaults reach existing data directories at their
next restart). `postgresql.auto.conf` is read after it: an operator's `ALTER SYSTEM SET ...` always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

SETTINGS_FILE = "taskstream.conf"
INCLUDE_LINE = f"include_if_exists = '{SETTINGS_FILE}'"
_MB = 1 << 20


def memory_bytes() -> int:
    """The memory this machine (or container, when its cgroup sets a limit) has."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return physical
    return min(physical, int(limit)) if limit.isdigit() else physical


def settings_for(memory: int, connections: int = 100) -> dict[str, str]:
    """The settings for a machine with `memory` bytes, serving up to `connections` connections.

    * shared_buffers: a quarter of memory, 128 MB to 2 GB (2 GB holds the task listing's heap and indexes at
      10^6 tasks; the OS page cache holds the rest);
    * effective_cache_size: three quarters of memory (what the planner may assume is cached);
    * work_mem 16 MB (a listing's sort stays in memory; at most ~16 pooled connections per API process);
    * maintenance_work_mem 256 MB (index builds after a replay's COPY);
    * random_page_cost 1.1 (SSD: random reads cost about as much as sequential ones);
    * max_wal_size 2 GB (fewer checkpoints under sustained command load and during replay);
    * jit off (compiling a plan costs more than the short queries of an API save);
    * max_connections: `connections`, at least PostgreSQL's 100 (`serve --workers N` opens N pools).
    """
    megabytes = memory // _MB
    shared = min(max(megabytes // 4, 128), 2048)
    return {
        "shared_buffers": f"{shared}MB",
        "effective_cache_size": f"{max(megabytes * 3 // 4, shared)}MB",
        "work_mem": "16MB",
        "maintenance_work_mem": "256MB",
        "random_page_cost": "1.1",
        "max_wal_size": "2GB",
        "jit": "off",
        "max_connections": str(max(connections, 100)),
    }


def write_settings(pgdata: Path, settings: dict[str, str]) -> None:
    """Write `settings` to the data directory's `taskstream.conf` and include it from `postgresql.conf` (once).

    The files stay readable by the server's own user (the server may run as another user than this process)."""
    target = pgdata / SETTINGS_FILE
    target.write_text("# Written by taskstream at each start (api/embedded_settings.py); use ALTER SYSTEM to "
                      "override.\n" + "".join(f"{key} = '{value}'\n" for key, value in settings.items()))
    target.chmod(0o644)
    conf = pgdata / "postgresql.conf"
    if INCLUDE_LINE not in conf.read_text():
        with conf.open("a") as out:
            out.write(f"\n{INCLUDE_LINE}\n")
