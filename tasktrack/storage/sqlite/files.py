"""Owner-only permissions for the SQLite database and its directory.

The database holds the token-signing key (``server_secrets``, unless it comes from
``TASKTRACK_SECRET_KEY``), password hashes and grant ids: anyone who can read the file can
forge tokens. So the file is created 0600 before SQLite opens it, and SQLite gives the
``-wal`` and ``-shm`` files it makes later the main file's permissions. A missing directory
is created 0700. Files (and the default ``data/`` directory) left readable by others by an
older tasktrack are tightened on start, with a warning; any other existing directory is the
operator's and is left alone.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("tasktrack.storage")
FILE_MODE = 0o600
DIR_MODE = 0o700
#: The directory of the default ``TASKTRACK_DATABASE_URL`` (``sqlite:///data/tasktrack.db``).
DEFAULT_DATA_DIR = Path("data")
#: Files SQLite keeps beside the database, holding the same data.
COMPANIONS = ("-wal", "-shm", "-journal")


def make_private(path: str) -> None:
    """Create the database's directory and file owner-only, or tighten existing ones."""
    database = Path(path)
    _private_directory(database.parent)
    _private_database(database)
    for suffix in COMPANIONS:
        companion = Path(path + suffix)
        if companion.exists():
            _tighten(companion, FILE_MODE)


def _private_directory(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    elif directory == DEFAULT_DATA_DIR:
        _tighten(directory, DIR_MODE)


def _private_database(database: Path) -> None:
    try:
        # An empty file is a valid, empty SQLite database; O_EXCL: never open someone else's.
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        _tighten(database, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if not current & 0o077:
        return
    try:
        path.chmod(mode)
    except OSError as exc:  # not ours to change: say so, and go on
        log.warning("%s is readable by other users (mode %o) and stays so: %s", path, current, exc)
    else:
        log.warning(
            "%s was readable by other users (mode %o); set it to %o: it holds secrets",
            path,
            current,
            mode,
        )
