"""Start real `tasktrack worker` processes for tests, and seed tasks on the same file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """One `python -m tasktrack worker` subprocess with its log in a file."""

    def __init__(self, db_url: str, log: Path, *extra: str, **env: str) -> None:
        self.log_path = log
        self._log = open(log, "ab")
        cmd = [
            sys.executable,
            "-m",
            "tasktrack",
            "worker",
            "--app",
            "tests.apps.handlers",
            "--database-url",
            db_url,
            "--poll-interval",
            "0.05",
            "--reaper-interval",
            "0.2",
            *extra,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TASKTRACK_LOG_LEVEL": "info", **env},
            start_new_session=True,  # its own group: a signal hits only this worker tree
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill_tree(self) -> None:
        """SIGKILL the worker and its children, as a machine failure would."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_tree()
        self._log.close()
        return self.proc.returncode

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")
