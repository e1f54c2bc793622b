"""Settings, read once from the environment (``TASKTRACK_*``); CLI flags override them.

One variable per setting, ``TASKTRACK_<FIELD>``, each listed in the README's settings table
(tests/unit/config checks both ways). Validation happens here, so a bad value is one clear
error at start-up rather than a failure later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tasktrack.domain.durations import parse_duration
from tasktrack.domain.scheduling import QUEUE_RULE, valid_queue
from tasktrack.service.tokens import DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL, SigningKeys

DEFAULT_DATABASE_URL = "sqlite:///data/tasktrack.db"
#: Prefix of every setting's environment variable: ``TASKTRACK_<FIELD NAME IN CAPITALS>``.
ENV_PREFIX = "TASKTRACK_"
#: Shortest signing key accepted from the environment (32 characters: 192+ bits if random).
MIN_SECRET_KEY = 32
#: Settings that must not be negative.
NOT_NEGATIVE = (
    "api_key_cache_seconds",
    "auth_failures_per_minute",
    "limit_concurrency",
    "prefetch",
    "prefetch_seconds",
    "retention_done",
    "retention_error",
    "retention_cancelled",
)
#: Settings given as durations: seconds, or a number with a unit (``30m``, ``12h``, ``7d``).
DURATIONS = (
    "retention_done",
    "retention_error",
    "retention_cancelled",
    "prune_interval",
    "idempotency_ttl",
    "webhook_retention",
    "worker_retention",
)
_DAY = 86400.0
#: Settings that must be greater than zero.
POSITIVE = (
    "lease_seconds",
    "poll_interval",
    "reaper_interval",
    "access_token_ttl",
    "refresh_token_ttl",
    "header_timeout",
    "keep_alive_timeout",
    "prune_interval",
    "prune_batch",
    "idempotency_ttl",
    "webhook_timeout",
    "webhook_max_attempts",
    "webhook_backoff",
    "webhook_retention",
    "heartbeat_interval",
    "worker_retention",
)


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
    #: Seconds a client gets to send a whole request head (after connecting, or after the
    #: previous response on a kept-alive connection) before ``serve`` closes the connection.
    header_timeout: float = 10.0
    #: Seconds ``serve`` keeps an idle kept-alive connection open between requests.
    keep_alive_timeout: int = 5
    #: Open connections (and requests) ``serve`` admits before answering 503 (0: no limit).
    limit_concurrency: int = 1000
    #: Modules whose task types are registered (comma-separated in the environment).
    app_modules: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"
    #: ``text``, ``json``, or ``auto``: text when stderr is a terminal, JSON otherwise (see
    #: tasktrack.observability.logs). One format for every line, uvicorn's included.
    log_format: str = "auto"
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
    #: ``tasktrack worker`` serves ``/health/live`` and ``/health/ready`` on this port (0: off).
    health_port: int = 0
    #: When set, the API's ``GET /metrics`` needs ``Authorization: Bearer <this token>``;
    #: empty (the default): open, like the server's default loopback-only bind.
    metrics_token: str = field(default="", repr=False)
    #: Failed authentications a client address may make per minute before it gets 429s
    #: (0: no limit). Per API process (see tasktrack.api.ratelimit).
    auth_failures_per_minute: int = 20
    #: OAuth2 access token lifetime, and how long an unused refresh token stays valid (s).
    access_token_ttl: float = DEFAULT_ACCESS_TTL
    refresh_token_ttl: float = DEFAULT_REFRESH_TTL
    #: The access-token signing key (or a file holding it), instead of the database's; and
    #: earlier keys still accepted (comma-separated). See tasktrack.service.signing_keys.
    secret_key: str = field(default="", repr=False)
    secret_key_file: str = ""
    secret_key_previous: tuple[str, ...] = field(default_factory=tuple, repr=False)
    #: Run a worker inside ``tasktrack serve`` (set 0 to serve the API only).
    worker: int = 1
    #: Worker knobs (the worker's view of them: tasktrack.worker.options.WorkerOptions).
    concurrency: int = 2
    lease_seconds: float = 30.0
    poll_interval: float = 0.5
    reaper_interval: float = 5.0
    cancel_grace: float = 10.0
    shutdown_timeout: float = 30.0
    #: Claim-ahead (tasktrack.worker.prefetch): most tasks a worker holds beyond those it
    #: runs (0: claim only for idle children), and how soon its children should be expected
    #: to start them (so long tasks are never held).
    prefetch: int = 16
    prefetch_seconds: float = 0.1
    #: 1: run async handlers in the worker's own event loop instead of child processes
    #: (tasktrack.worker.inline): faster per task, but a handler can then only be stopped at
    #: an await. Such a worker serves only its async task types.
    in_process: int = 0
    #: Queues a worker serves (comma-separated in the environment; empty: the queues of all
    #: its task types). A worker runs only the task types of these queues.
    queues: tuple[str, ...] = field(default_factory=tuple)
    #: Retention: finished tasks (with their results, attempts and logs) are deleted this
    #: long after they finished, per status, in seconds (0: keep forever). Workers prune.
    retention_done: float = 7 * _DAY
    retention_error: float = 30 * _DAY
    retention_cancelled: float = 7 * _DAY
    #: How often a worker looks for tasks past retention, and most rows one delete takes:
    #: on SQLite a batch holds the one writer ~40 µs a task (with its child rows), so 200
    #: keeps the wait of a claim or API write behind it near 10 ms.
    prune_interval: float = 60.0
    prune_batch: int = 200
    #: How long an ``Idempotency-Key`` of a create is remembered (workers prune older ones).
    idempotency_ttl: float = _DAY
    #: The organisation (id or name) that owns periodic tasks whose schedule names none.
    periodic_org: str = "default"
    #: Webhooks (issue 16; docs/webhooks-and-traces.md). The key subscription secrets are
    #: encrypted under (any long random string; empty: a key kept in the database).
    webhook_key: str = field(default="", repr=False)
    #: Allow targets on loopback, private and link-local addresses (off: SSRF protection).
    webhook_allow_private: int = 0
    #: Seconds one delivery may take; a claimed message is leased for this plus 5 s.
    webhook_timeout: float = 10.0
    #: Deliveries of one message before it is dead-lettered.
    webhook_max_attempts: int = 8
    #: Seconds before the first retry; each further retry waits twice as long (at most 1 h).
    webhook_backoff: float = 5.0
    #: How long delivered and dead messages and the attempt history are kept.
    webhook_retention: float = 7 * _DAY
    #: Emit OpenTelemetry spans for API requests and task attempts (needs tasktrack[otel]).
    otel: int = 0
    #: Worker registry (issue 16): seconds between a worker's heartbeats (it counts as dead
    #: after three missed ones), and how long a stopped or dead worker stays listed.
    heartbeat_interval: float = 5.0
    worker_retention: float = 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``TASKTRACK_<NAME>`` variables, then ``overrides`` (None = unset).

        This is the only place tasktrack reads its settings from the environment (the
        ``tasks`` commands' connection variables aside: see tasktrack.cli.config_file).
        """
        values = _read_env(os.environ if env is None else env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ValueError, naming the setting, for the first value out of its range."""
        self._check_choices()
        self._check_ranges()

    def _check_choices(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if not 0 <= self.health_port <= 65535:
            raise ValueError(f"TASKTRACK_HEALTH_PORT must be 0..65535, got {self.health_port}")
        if self.sqlite_synchronous.upper() not in ("FULL", "EXTRA", "NORMAL", "OFF"):
            raise ValueError("TASKTRACK_SQLITE_SYNCHRONOUS must be FULL, EXTRA, NORMAL or OFF")
        # No "trace": uvicorn's trace level logs whole requests, credentials included.
        if self.log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError(
                "TASKTRACK_LOG_LEVEL must be one of critical, error, warning, info, debug"
            )

        if self.log_format not in ("auto", "text", "json"):
            raise ValueError("TASKTRACK_LOG_FORMAT must be auto, text or json")

    def _check_ranges(self) -> None:
        for name in NOT_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{env_name(name)} must be 0 or more")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        for name in POSITIVE:
            if getattr(self, name) <= 0:
                raise ValueError(f"{env_name(name)} must be positive")
        if self.max_body_bytes < 1024:
            raise ValueError("TASKTRACK_MAX_BODY_BYTES must be at least 1024")
        self._check_secret_key()
        bad = [q for q in self.queues if not valid_queue(q)]
        if bad:
            raise ValueError(f"TASKTRACK_QUEUES: {QUEUE_RULE}, got {bad[0][:60]!r}")

    def _check_secret_key(self) -> None:
        if self.secret_key and self.secret_key_file:
            raise ValueError("set TASKTRACK_SECRET_KEY or TASKTRACK_SECRET_KEY_FILE, not both")
        keys = self.signing_keys()
        if keys is not None and any(len(key) < MIN_SECRET_KEY for key in keys.all()):
            raise ValueError(f"TASKTRACK_SECRET_KEY must be at least {MIN_SECRET_KEY} characters")

    def signing_keys(self) -> SigningKeys | None:
        """The signing keys the environment gives; None: use (and rotate) the database's."""
        key = self.secret_key or _read_key_file(self.secret_key_file)
        return SigningKeys(key, self.secret_key_previous) if key else None


def _read_key_file(path: str) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text("utf-8").strip()
    except OSError as exc:
        raise ValueError(f"TASKTRACK_SECRET_KEY_FILE cannot be read: {exc}") from None


def env_name(setting: str) -> str:
    """The environment variable of a setting: ``lease_seconds`` -> ``TASKTRACK_LEASE_SECONDS``."""
    return ENV_PREFIX + setting.upper()


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings given (not empty) in ``env``, converted to their fields' types."""
    given = {f: env.get(env_name(f.name)) for f in fields(Settings)}
    return {f.name: _convert(f.name, f.type, raw) for f, raw in given.items() if raw}


def _convert(name: str, kind: Any, raw: str) -> Any:
    if name in DURATIONS:
        try:
            return parse_duration(raw)
        except ValueError as exc:
            raise ValueError(f"{env_name(name)}: {exc}") from None
    if kind in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{env_name(name)} must be an integer, got {raw!r}") from None
    if kind in ("float", float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{env_name(name)} must be a number, got {raw!r}") from None
    if "tuple" in str(kind):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
