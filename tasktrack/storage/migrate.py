"""Versioned migrations: ordered ``NNNN_name.sql`` files per backend, applied in place.

The applied version lives in ``tasktrack_schema``. A database newer than the code refuses to
open (:class:`~tasktrack.errors.SchemaTooNew`) rather than risk writing rows it misreads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from tasktrack.errors import SchemaTooNew

_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql\Z")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The migrations shipped for ``backend`` ("sqlite" or "postgres"), in order."""
    folder = resources.files("tasktrack.storage").joinpath(backend, "migrations")
    found = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    # Gaps are allowed: parallel branches are given migration numbers in advance, so one may
    # land before the numbers below it. Versions stay unique and ordered.
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"{backend} migrations have duplicate or invalid versions: {versions}")
    return found


def pending(backend: str, current: int) -> list[Migration]:
    """Migrations after ``current``; raises SchemaTooNew if ``current`` is unknown to us."""
    known = migrations(backend)
    latest = known[-1].version if known else 0
    if current > latest:
        raise SchemaTooNew(
            f"the database schema is version {current}, but this tasktrack knows only up to "
            f"{latest}: upgrade tasktrack before running it against this database"
        )
    return [m for m in known if m.version > current]


def latest_version(backend: str) -> int:
    """The schema version this code migrates ``backend`` databases to."""
    known = migrations(backend)
    return known[-1].version if known else 0
