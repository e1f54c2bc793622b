"""The log formats: one JSON object or one text line per record, with the context's ids."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from tasktrack.observability import context
from tasktrack.observability.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    logging_config,
    resolve_format,
)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.StreamHandler[io.StringIO]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert resolve_format("auto", _Tty()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", _Tty()) == "json"
    with pytest.raises(ValueError, match="log format"):
        resolve_format("xml")


def test_json_lines_carry_the_context_ids_and_extras(capture) -> None:
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    with context.bound(request_id="r-1234567", task_id="t1", attempt=2, worker_id="w"):
        logger.info("hello %s", "world", extra={"status": 404})
    logger.info("outside")
    inside, outside = (json.loads(line) for line in lines(stream))
    assert inside["message"] == "hello world" and inside["status"] == 404
    assert (inside["request_id"], inside["task_id"], inside["attempt"]) == ("r-1234567", "t1", 2)
    assert inside["worker_id"] == "w" and inside["level"] == "INFO"
    assert inside["logger"] == "tests.observability" and inside["time"].endswith("Z")
    assert set(outside) == {"time", "level", "logger", "message"}


def test_an_exception_stays_inside_its_one_json_line(capture) -> None:
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        logger.exception("it failed")
    (only,) = lines(stream)
    record = json.loads(only)
    assert "RuntimeError: boom" in record["exception"] and record["level"] == "ERROR"


def test_extra_ids_win_over_the_context(capture) -> None:
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    with context.bound(task_id="from-context"):
        logger.info("x", extra={"task_id": "given"})
    assert json.loads(lines(stream)[0])["task_id"] == "given"


def test_text_lines_end_with_the_ids(capture) -> None:
    logger, stream, handler = capture
    handler.setFormatter(TextFormatter())
    with context.bound(request_id="abcdef12", attempt=1):
        logger.warning("careful")
    logger.warning("plain")
    first, second = lines(stream)
    assert first.endswith(" WARNING tests.observability: careful [request_id=abcdef12 attempt=1]")
    assert second.endswith(" WARNING tests.observability: plain")


def test_the_bound_ids_are_restored_after_the_block() -> None:
    with context.bound(task_id="a"):
        with context.bound(task_id="b", attempt=3):
            assert context.current() == {"task_id": "b", "attempt": 3}
        assert context.current() == {"task_id": "a"}
    assert context.current() == {}


def test_uvicorn_loggers_pass_everything_to_the_one_handler() -> None:
    config = logging_config("json", "info")
    assert config["root"]["handlers"] == ["stderr"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == [] and config["loggers"][name]["propagate"]
    assert config["disable_existing_loggers"] is False
    assert config["handlers"]["stderr"]["stream"] == "ext://sys.stderr"
    assert sys.stderr  # the handler writes where the process's other output goes
