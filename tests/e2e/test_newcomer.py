"""What a newcomer meets first: ``make run``'s port and key, the "serving on" line, and
``make test`` never installing system packages unless in CI or asked."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli_identity import db_url, ok, tasktrack  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make_dry_run(*args: str, **env: str) -> str:
    assert MAKE is not None
    clean = {k: v for k, v in os.environ.items() if k not in ("PORT", "TASKTRACK_PORT", "CI")}
    done = subprocess.run(
        [MAKE, "-n", "-C", str(REPO), *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
        check=True,
    )
    return done.stdout


@needs_make
@pytest.mark.parametrize(
    ("env", "port"),
    [({}, "8000"), ({"TASKTRACK_PORT": "8006"}, "8006"), ({"PORT": "8007"}, "8007")],
)
def test_make_run_serves_on_the_port_it_is_given(env: dict[str, str], port: str) -> None:
    serve = [ln for ln in make_dry_run("run", **env).splitlines() if " serve " in ln]
    assert serve and serve[-1].endswith(f"--port {port}")


def test_the_kept_key_is_printed_again_while_it_works(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    kept = tmp_path / "data" / "make-run.key"
    first = ok(tasktrack(db_url, "apikey", "create", "--keep-in", str(kept)))
    again = ok(tasktrack(db_url, "apikey", "create", "--keep-in", str(kept)))
    assert again[-1] == first[-1] == kept.read_text().strip()
    assert again[0] == f"reusing the API key kept in {kept}"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    key_id = first[-1][len("tt_") : len("tt_") + 24]
    ok(tasktrack(db_url, "apikey", "revoke", key_id))
    fresh = ok(tasktrack(db_url, "apikey", "create", "--keep-in", str(kept)))
    assert fresh[-1] != first[-1] and kept.read_text().strip() == fresh[-1]
    assert len(ok(tasktrack(db_url, "apikey", "list", "-o", "json"))) > 1


def test_serving_on_is_not_printed_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tasktrack", "serve", "--port", str(port), "--no-worker"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={**os.environ, "TASKTRACK_DATABASE_URL": f"sqlite:///{tmp_path}/t.db"},
            check=False,
        )
    assert done.returncode != 0
    assert "serving on" not in done.stdout + done.stderr
    assert "address already in use" in done.stderr.lower()


def _fake_path(tmp_path: Path) -> tuple[Path, Path]:
    """A PATH with no chromium, a fake apt-get that records its calls, and what make needs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-get.calls"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (bin_dir / "pg_isready").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("apt-get", "pg_isready"):
        (bin_dir / tool).chmod(0o755)
    for tool in ("id", "ls", "head", "sh"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    return bin_dir, calls


@needs_make
@pytest.mark.skipif(os.geteuid() != 0, reason="the install branch is taken only as root")
@pytest.mark.parametrize(
    ("extra", "installs"),
    [({}, False), ({"CI": "true"}, True), ({"INSTALL_SYSTEM": "1"}, True)],
)
def test_system_packages_are_installed_only_in_ci_or_when_asked(
    tmp_path: Path, extra: dict[str, str], installs: bool
) -> None:
    assert MAKE is not None
    bin_dir, calls = _fake_path(tmp_path)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), **extra}
    done = subprocess.run(
        [MAKE, "-s", "-C", str(REPO), "services"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    if installs:
        assert "installing system packages with apt-get: chromium fonts-liberation" in done.stdout
        assert "install -y -qq --no-install-recommends chromium" in calls.read_text()
    else:
        assert not calls.exists(), "apt-get must not run outside CI unless asked"
        assert "make test INSTALL_SYSTEM=1" in done.stdout
