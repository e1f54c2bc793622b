"""The child's capture of a handler's log lines and output (tasktrack.worker.capture)."""

from __future__ import annotations

import logging
import sys

from tasktrack.domain.history import LOG_LINES_PER_TASK
from tasktrack.worker.capture import BATCH_LINES, Capture, LineStream, LogBuffer


def test_the_buffer_batches_and_keeps_the_newest_counting_the_dropped() -> None:
    buffer = LogBuffer()
    stream = LineStream(buffer, "STDOUT")
    stream.write("".join(f"{i}\n" for i in range(BATCH_LINES + 3)))
    lines, dropped = buffer.take()
    assert (len(lines), dropped) == (BATCH_LINES, 0)
    assert len(buffer.take()[0]) == 3
    stream.write("".join(f"{i}\n" for i in range(LOG_LINES_PER_TASK + 5)))
    lines, dropped = buffer.take()  # after a drop: everything at once
    assert (len(lines), dropped) == (LOG_LINES_PER_TASK, 5)
    assert lines[0].message == "5"


def test_a_line_stream_joins_partial_writes_and_flushes_the_rest() -> None:
    buffer = LogBuffer()
    stream = LineStream(buffer, "STDERR")
    stream.write("hel")
    stream.write("lo\r\nwor")
    assert [(x.level, x.message) for x in buffer.take()[0]] == [("STDERR", "hello")]
    stream.close_line()
    assert [x.message for x in buffer.take()[0]] == ["wor"]


def test_capture_takes_the_task_logger_and_opted_in_output_then_gives_them_back() -> None:
    logger = logging.getLogger("tasktrack.task.capture.test")
    logger.setLevel(logging.INFO)
    out, err = sys.stdout, sys.stderr
    capture = Capture("tasktrack.task.capture.test", output=True)
    capture.start()
    try:
        logger.warning("careful %d", 1)
        print("printed")
        logging.getLogger("tasktrack.task.capture.test.sub").info("from a child logger")
    finally:
        capture.stop()
    assert (sys.stdout, sys.stderr) == (out, err)
    assert logger.propagate and not logger.handlers
    got = [(x.level, x.message) for x in capture.buffer.take()[0]]
    assert got == [("WARNING", "careful 1"), ("STDOUT", "printed"), ("INFO", "from a child logger")]


def test_without_the_opt_in_output_is_left_alone() -> None:
    out = sys.stdout
    capture = Capture("tasktrack.task.capture.plain", output=False)
    capture.start()
    try:
        assert sys.stdout is out
    finally:
        capture.stop()
