"""One log format for every line a process writes: tasktrack's, uvicorn's, warnings.

``TASKTRACK_LOG_FORMAT`` picks it: ``text`` (one readable line), ``json`` (one JSON object
per line, for a log shipper) or ``auto`` (the default: text when stderr is a terminal, JSON
otherwise, so a person at a terminal reads text and a service manager collects JSON).

Every line has ``time``, ``level``, ``logger`` and ``message``, plus whichever ids the running
context holds (:mod:`tasktrack.observability.context`): ``request_id``, ``task_id``,
``attempt``, ``worker_id``. Values given with ``extra=`` (the access log's ``method``,
``path``, ``status``, ``duration_ms``) are fields of their own in JSON, and left to the
message in text.

uvicorn configures logging itself from a dict; :func:`logging_config` is that dict, so the
server passes it to uvicorn (``log_config=``) instead of letting uvicorn install its own
formatters.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from tasktrack.observability import context

FORMATS = ("auto", "text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: uvicorn's loggers: they keep no handler of their own and pass every record to the root's.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
#: LogRecord attributes that are not ``extra=`` fields (plus uvicorn's coloured duplicate).
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    *context.FIELDS,
}


def resolve_format(fmt: str, stream: TextIO | None = None) -> str:
    """``text`` or ``json``: ``fmt`` itself, or for ``auto`` what suits ``stream``."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    return "text" if stream.isatty() else "json"


class ContextFilter(logging.Filter):
    """Stamps each record with the ids of the context it was logged in (``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in context.current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_ids(record))
        line.update(_extras(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [request_id=... task_id=...]``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        ids = _ids(record)
        line = super().formatMessage(record)
        if not ids:
            return line
        return line + " [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]"


def _iso_time(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _ids(record: logging.LogRecord) -> dict[str, Any]:
    found = {name: getattr(record, name, None) for name in context.FIELDS}
    return {name: value for name, value in found.items() if value is not None}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k[0] != "_"}


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dict: every logger through one stderr handler."""
    formatter = JsonFormatter if resolve_format(fmt) == "json" else TextFormatter
    passing = {"handlers": [], "propagate": True, "level": level.upper()}
    return {
        "version": 1,
        "disable_existing_loggers": False,  # module-level loggers exist already
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"tasktrack": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "tasktrack",
                "filters": ["context"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {name: dict(passing) for name in UVICORN_LOGGERS},
    }


def configure_logging(fmt: str, level: str) -> None:
    """Apply :func:`logging_config`, and route ``warnings`` through it too."""
    logging.config.dictConfig(logging_config(fmt, level))
    logging.captureWarnings(True)
