"""How commands run their coroutines: short ones on asyncio's loop, the worker on uvloop."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from tasktrack.cli.common import run_async


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_a_long_running_command_runs_on_uvloop() -> None:
    assert run_async(_loop_type, long_running=True) is uvloop.Loop


def test_a_short_command_runs_on_asyncio_s_own_loop() -> None:
    assert not issubclass(run_async(_loop_type), uvloop.Loop)


def test_errors_still_become_one_line_on_uvloop(capsys: pytest.CaptureFixture[str]) -> None:
    async def bad() -> None:
        raise ValueError("no such queue: nope")

    with pytest.raises(SystemExit) as exit_:
        run_async(bad, long_running=True)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: no such queue: nope\n"
