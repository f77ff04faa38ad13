"""The `taskstream` command line: `serve` and `credentials create|list|revoke|rotate-secret`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from taskstream.api.log_format import FORMATS
from taskstream.api.supervisor import MAX_WORKERS, parse_workers

if TYPE_CHECKING:
    from taskstream.api.lifecycle import ServeSettings

CONF_SNIPPET = """api {{
    api_server: "{url}"
    web_server: "{url}"
    files_server: "{url}/files"
    credentials {{
        access_key: "{key}"
        secret_key: "{secret}"
    }}
}}"""


def _database_url(home: Path, connections: int = 100) -> tuple[str, object | None]:
    """TASKSTREAM_DATABASE_URL if set, else an embedded PostgreSQL under `home` (started here, for up to
    `connections` connections)."""
    url = os.environ.get("TASKSTREAM_DATABASE_URL")
    if url:
        return url, None
    from taskstream.api.database import EmbeddedPostgres

    embedded = EmbeddedPostgres(home, connections)
    return embedded.url, embedded


SECRET_PLACEHOLDER = "<TASKSTREAM_SECRET_KEY>"


def created_key_pair(api_url: str, access_key: str, secret_key: str, given: bool) -> str:
    """What `serve` prints about the key pair it created on first start. The secret is printed only when the
    server generated it (shown once); one given in TASKSTREAM_SECRET_KEY is known to whoever gave it and never
    reaches the output (logs, terminals, CI transcripts)."""
    shown = SECRET_PLACEHOLDER if given else secret_key
    about = ("(from TASKSTREAM_SECRET_KEY, not shown)" if given
             else f"{secret_key}  (shown once; `taskstream credentials create` makes more)")
    return (f"access key: {access_key}\nsecret key: {about}\n"
            "clearml.conf:\n" + CONF_SNIPPET.format(url=api_url, key=access_key, secret=shown))


def serve(args: argparse.Namespace) -> int:
    """Start the database (embedded unless TASKSTREAM_DATABASE_URL), migrate, then serve with `--workers`
    processes until SIGTERM (0) or Ctrl-C (130); the embedded PostgreSQL is stopped last."""
    from taskstream.api.lifecycle import ServeSettings, metrics_directory
    from taskstream.api.log_format import configure_logging

    configure_logging(args.log_format, args.log_level)
    with metrics_directory():  # before the app is imported: its metrics then live in files every worker shares
        url, embedded = _database_url(Path(args.home), _connections_for(args.workers))
        try:
            settings = ServeSettings(url, args.kafka, args.home, args.host, args.port, args.log_level,
                                     args.log_format, **ServeSettings.timeouts_from_env())
            return _serve_on(settings, args.workers)
        finally:
            if embedded is not None:
                embedded.stop()  # type: ignore[attr-defined]


def _connections_for(workers: int) -> int:
    """Connections the embedded PostgreSQL must allow: every worker's pool, its leader and relay connections."""
    from taskstream.api.limits import env_int

    return workers * (env_int("TASKSTREAM_POOL_SIZE", 16) + 4) + 20


def _serve_on(settings: ServeSettings, workers: int) -> int:
    from taskstream.api.files.storage import FileSettings
    from taskstream.api.lifecycle import serve_in_process
    from taskstream.api.server import prepare_database
    from taskstream.api.supervisor import Supervisor, listen

    listener = None
    if workers > 1:  # held (bound, not listening) before anything is printed: a port in use is an error at once
        try:
            listener = listen(settings.host, settings.port, backlog=None)
        except OSError as error:
            print(f"taskstream: cannot listen on {settings.host}:{settings.port}: {error.strerror}", file=sys.stderr)
            return 1
    _, boot = asyncio.run(prepare_database(settings.database_url))
    api_url = f"http://{settings.host}:{settings.port}"
    print(f"taskstream serving the ClearML API and the web UI at {api_url}  (docs: {api_url}/docs)"
          + (f" with {workers} worker processes" if workers > 1 else ""), flush=True)
    if getattr(boot, "access_key", None):
        print(created_key_pair(api_url, boot.access_key, boot.secret_key,  # type: ignore[attr-defined]
                               given=bool(os.environ.get("TASKSTREAM_SECRET_KEY"))), flush=True)
    else:
        print("using the existing key pairs (`taskstream credentials list`)", flush=True)
    print(f"files served at {api_url}/files from {FileSettings.from_env(Path(settings.home)).root}", flush=True)
    if listener is not None:
        with listener:
            return Supervisor(settings, workers).run()
    # uvicorn handles SIGTERM while it serves and raises it again afterwards: from now on that ends nothing more.
    signal.signal(signal.SIGTERM, _served)
    serve_in_process(settings)
    return 0


def credentials(args: argparse.Namespace) -> int:
    from taskstream.api.credentials_cli import run_credentials

    url, embedded = _database_url(Path(args.home))
    try:
        return asyncio.run(run_credentials(url, args))
    finally:
        if embedded is not None:
            embedded.stop()  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskstream",
        description="An event-sourced server for the ClearML tasks API. Without TASKSTREAM_DATABASE_URL it runs "
                    "an embedded PostgreSQL with its data under --home.")
    parser.add_argument("--home", default=os.environ.get("TASKSTREAM_HOME", ".taskstream"), help=HOME_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the API server (Ctrl-C stops it and the embedded PostgreSQL)")
    run.add_argument("--host", default=os.environ.get("TASKSTREAM_HOST", "127.0.0.1"),
                     help="address to listen on (env TASKSTREAM_HOST, default 127.0.0.1)")
    run.add_argument("--port", type=int, default=int(os.environ.get("TASKSTREAM_PORT", "8008")),
                     help="port to listen on (env TASKSTREAM_PORT, default 8008)")
    run.add_argument("--log-level", default="warning", help="log level (default warning)")
    run.add_argument("--log-format", type=parse_log_format, default=os.environ.get("TASKSTREAM_LOG_FORMAT", "text"),
                     help="text (default), or json: one JSON object per line, with a line per request (trx, "
                          "company, endpoint, status, duration) (env TASKSTREAM_LOG_FORMAT)")
    run.add_argument("--workers", type=parse_workers, default=os.environ.get("TASKSTREAM_WORKERS", "1"),
                     help=f"API processes serving the port (1 to {MAX_WORKERS}, or auto: one per core; env "
                          "TASKSTREAM_WORKERS, default 1). They share the database; a worker that dies is replaced; "
                          "the audit subscriber, watchdog and relay run in one of them at a time. SIGTERM drains "
                          "them (TASKSTREAM_DRAIN_SECONDS, default 0) and lets requests in flight finish "
                          "(TASKSTREAM_SHUTDOWN_TIMEOUT, default 30 s). TASKSTREAM_POOL_SIZE is per worker")
    run.add_argument("--kafka", default=os.environ.get("TASKSTREAM_KAFKA_BOOTSTRAP"),
                     help="publish the log to this Kafka (env TASKSTREAM_KAFKA_BOOTSTRAP; default: no relay)")
    run.set_defaults(func=serve)
    creds = sub.add_parser("credentials", help="manage key pairs (secrets are stored hashed)")
    actions = creds.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key pair and print it (the secret is shown once)")
    create.add_argument("--user", default="__admin__", help="user id the key pair belongs to (default __admin__)")
    actions.add_parser("list", help="list key pairs (never the secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key pair")
    revoke.add_argument("access_key")
    actions.add_parser("rotate-secret", help="replace the token signing secret: every token issued so far stops "
                                             "working (running servers notice within 30 s); key pairs still work")
    creds.set_defaults(func=credentials)
    from taskstream.api.stream_cli import add_commands

    add_commands(sub)
    _accept_home_after_verbs(parser)
    return parser


def parse_log_format(value: str) -> str:
    """`--log-format` (or TASKSTREAM_LOG_FORMAT, which argparse parses the same way): one of FORMATS, any case.

    Why refused rather than text: a log collector set up for JSON lines would get text from a typo, silently."""
    chosen = value.strip().lower()
    if chosen not in FORMATS:
        raise argparse.ArgumentTypeError(f"must be {' or '.join(FORMATS)} (also in TASKSTREAM_LOG_FORMAT; "
                                         f"got {value!r})")
    return chosen


HOME_HELP = "data directory of the embedded PostgreSQL (env TASKSTREAM_HOME, default ./.taskstream)"


def _accept_home_after_verbs(parser: argparse.ArgumentParser) -> None:
    """Every verb (and sub-verb) takes `--home` too, so `taskstream serve --home DIR` works like
    `taskstream --home DIR serve`; its default is suppressed there so it never hides the one given before."""
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for verb in getattr(action, "choices", {}).values():
            verb.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)
            _accept_home_after_verbs(verb)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _served(signum: int, frame: object) -> None:
    """SIGTERM once the server has shut down gracefully: `serve` goes on to stop the database and exits 0."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM stops like Ctrl-C, so the embedded PostgreSQL is stopped on the way out (uvicorn installs its own
    # handlers while `serve` runs).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
