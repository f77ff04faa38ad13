"""`--log-format json` (env TASKSTREAM_LOG_FORMAT): every log record as one JSON object on one line of stderr.

A record carries `time` (UTC, ISO 8601), `level`, `logger`, `message`, `pid`, the fields a caller passed as
`extra={"fields": {...}}` (the request line of `api.observability`: trx, company, endpoint, method, status,
result_code, result_subcode, duration_ms) and `exception` when there is one. With JSON logs the request lines are
always written (logger `taskstream.request`, level INFO); other records from `--log-level` up. Nothing a client
sends is logged beyond those fields: no header, body, query string or path.

`text` (the default) keeps uvicorn's own log configuration and writes no request lines.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
                "pid": record.process, **getattr(record, "fields", {})}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(log_format: str, level: str) -> None:
    """Set up this process's logging for `log_format` (`json` only; `text` leaves uvicorn's configuration)."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    logging.getLogger("taskstream.request").setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
