"""A worker killed with SIGKILL mid-attempt (issue 13): the attempt is recorded LOST by the
reaper of another worker process, and the rerun's attempt DONE."""

from __future__ import annotations

from pathlib import Path

from tasktrack.domain.history import Outcome
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tests.conftest import ORG_A
from tests.helpers import eventually
from tests.integration.test_worker import ALICE, settled
from tests.integration.test_worker_processes import db, db_url, service, workers
from tests.integration.worker_procs import WorkerProcess

__all__ = ["db", "db_url", "service", "workers"]  # fixtures used here


async def test_a_killed_workers_attempt_is_recorded_lost(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,
) -> None:
    """kill -9 of the worker process tree: the reaper of another worker records LOST."""
    log, started = tmp_path / "runs.log", tmp_path / "started"
    victim = workers.start("--lease-seconds", "1", "--concurrency", "1")  # type: ignore[attr-defined]
    task = await service.create(
        ALICE, "test.hold_first", {"started": str(started), "log": str(log)}
    )
    await eventually(lambda: _exists(started), bool, timeout=60, what="attempt 1 running")
    victim.kill_tree()
    workers.start("--lease-seconds", "1")  # type: ignore[attr-defined]
    done = await settled(service, task, timeout=30)
    assert done.status is Status.DONE
    lost, rerun = await db.tasks.attempts(task.id, Scope(ORG_A)) or []
    assert (lost.number, lost.outcome) == (1, Outcome.LOST)
    assert "worker lost" in lost.reason
    assert (rerun.number, rerun.outcome) == (2, Outcome.DONE)
    assert lost.worker_id and rerun.worker_id and lost.worker_id != rerun.worker_id


async def _exists(path: Path) -> bool:
    return path.exists()
