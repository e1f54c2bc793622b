"""The worker's knobs: a view of :class:`tasktrack.config.Settings`, which owns them.

Defaults and validation live in ``Settings`` only. ``WorkerOptions`` takes its defaults from
a default ``Settings`` and validates through ``Settings.validate``, so a value accepted or
refused by ``tasktrack worker`` is accepted or refused the same way here, and a default
changed in ``config.py`` changes here too. The direction is worker → config (an adapter reads
the settings), never config → worker.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from tasktrack.config import Settings
from tasktrack.domain.lifecycle import Status
from tasktrack.service.retention import RetentionPolicy

_DEFAULTS = Settings()


@dataclass(frozen=True)
class WorkerOptions:
    """What a :class:`~tasktrack.worker.worker.Worker` needs to know.

    Build it with :meth:`from_settings`; tests and benchmarks may name a few fields directly.
    See ``Settings`` for the meaning of each shared field.
    """

    concurrency: int = _DEFAULTS.concurrency
    lease_seconds: float = _DEFAULTS.lease_seconds
    poll_interval: float = _DEFAULTS.poll_interval
    reaper_interval: float = _DEFAULTS.reaper_interval
    cancel_grace: float = _DEFAULTS.cancel_grace
    shutdown_timeout: float = _DEFAULTS.shutdown_timeout
    prefetch: int = _DEFAULTS.prefetch
    prefetch_seconds: float = _DEFAULTS.prefetch_seconds
    in_process: int = _DEFAULTS.in_process
    queues: tuple[str, ...] = _DEFAULTS.queues
    app_modules: tuple[str, ...] = _DEFAULTS.app_modules
    log_level: str = _DEFAULTS.log_level
    log_format: str = _DEFAULTS.log_format
    #: Retention (issue 13): the background pruner's ages, interval and batch.
    retention_done: float = _DEFAULTS.retention_done
    retention_error: float = _DEFAULTS.retention_error
    retention_cancelled: float = _DEFAULTS.retention_cancelled
    prune_interval: float = _DEFAULTS.prune_interval
    prune_batch: int = _DEFAULTS.prune_batch
    #: Issue 14: idempotency records' lifetime (pruned by the pruner), periodic tasks' owner.
    idempotency_ttl: float = _DEFAULTS.idempotency_ttl
    periodic_org: str = _DEFAULTS.periodic_org
    #: Worker registry (issue 16).
    heartbeat_interval: float = _DEFAULTS.heartbeat_interval
    worker_retention: float = _DEFAULTS.worker_retention
    #: Not settings (no environment variable): fixed for users, varied by tests and benches.
    #: Least time between two progress writes of one task.
    progress_interval: float = 0.25
    #: Register the demo task types in child processes.
    demo: bool = True

    def __post_init__(self) -> None:
        replace(_DEFAULTS, **self._shared()).validate()

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerOptions:
        """The worker's part of ``settings``."""
        return cls(**{name: getattr(settings, name) for name in _shared_names()})

    def retention(self) -> RetentionPolicy:
        """The background pruner's policy."""
        ages = {
            Status.DONE: self.retention_done,
            Status.ERROR: self.retention_error,
            Status.CANCELLED: self.retention_cancelled,
        }
        return RetentionPolicy(ages, batch=self.prune_batch, idempotency_ttl=self.idempotency_ttl)

    def _shared(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _shared_names()}


def _shared_names() -> list[str]:
    """Fields that are settings (the rest are the worker's own)."""
    settings = {f.name for f in fields(Settings)}
    return [f.name for f in fields(WorkerOptions) if f.name in settings]
