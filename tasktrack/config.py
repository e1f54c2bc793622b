"""Settings, read once from the environment (``TASKTRACK_*``); CLI flags override them.

Every setting is listed in the README. Validation happens here, so a bad value is one clear
error at start-up rather than a failure later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///data/tasktrack.db"


@dataclass(frozen=True)
class Settings:
    """All of tasktrack's knobs, with defaults that suit ``make run``."""

    #: Where tasks live: ``sqlite:///relative.db``, ``sqlite:////abs.db``, ``postgresql://…``.
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    #: SQLite ``PRAGMA synchronous``: FULL (durable, default); NORMAL only if asked for.
    sqlite_synchronous: str = "FULL"
    #: Largest request body accepted (413 beyond).
    max_body_bytes: int = 256 * 1024
    #: Modules whose task types are registered (comma-separated in the environment).
    app_modules: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"
    #: Log every request (method, path, status, duration; never the query string).
    access_log: int = 0
    #: How long a process may reuse a looked-up API key row (the secret is still hashed and
    #: compared on every request). A key revoked by *another* process stops working within
    #: this many seconds; one revoked in this process, at once. 0: look up every time.
    api_key_cache_seconds: float = 0.0
    #: Believe X-Forwarded-For / X-Forwarded-Proto from these proxy addresses (comma-separated,
    #: "*" for any). Empty: never, so a client cannot pick its own address for rate limiting.
    forwarded_allow_ips: str = ""
    #: ``tasktrack worker`` serves Prometheus metrics on this port (0: off).
    metrics_port: int = 0
    #: Run a worker inside ``tasktrack serve`` (set 0 to serve the API only).
    worker: int = 1
    #: Worker knobs (the worker's view of them: tasktrack.worker.options.WorkerOptions).
    concurrency: int = 2
    lease_seconds: float = 30.0
    poll_interval: float = 0.5
    reaper_interval: float = 5.0
    cancel_grace: float = 10.0
    shutdown_timeout: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``TASKTRACK_<NAME>`` variables, then ``overrides`` (None = unset)."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"TASKTRACK_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.sqlite_synchronous.upper() not in ("FULL", "EXTRA", "NORMAL", "OFF"):
            raise ValueError("TASKTRACK_SQLITE_SYNCHRONOUS must be FULL, EXTRA, NORMAL or OFF")
        # No "trace": uvicorn's trace level logs whole requests, credentials included.
        if self.log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError(
                "TASKTRACK_LOG_LEVEL must be one of critical, error, warning, info, debug"
            )
        if self.api_key_cache_seconds < 0:
            raise ValueError("TASKTRACK_API_KEY_CACHE_SECONDS must be 0 or more")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        for name in ("lease_seconds", "poll_interval", "reaper_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TASKTRACK_{name.upper()} must be positive")
        if self.max_body_bytes < 1024:
            raise ValueError("TASKTRACK_MAX_BODY_BYTES must be at least 1024")


def _convert(name: str, kind: Any, raw: str) -> Any:
    if kind in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"TASKTRACK_{name.upper()} must be an integer, got {raw!r}") from None
    if kind in ("float", float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"TASKTRACK_{name.upper()} must be a number, got {raw!r}") from None
    if "tuple" in str(kind):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
