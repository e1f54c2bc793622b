"""The exit codes of the ``tasks`` commands, and the help footer listing them.

Each command's ``--help`` lists only the codes it can end with (``tasks list`` cannot end
"cancelled"); the group's help lists them all.
"""

from __future__ import annotations

from tasktrack.cli.common import EXIT_FAILURE, EXIT_USAGE

EXIT_TASK_ERROR = 3
EXIT_TASK_CANCELLED = 4
EXIT_TIMEOUT = 5
EXIT_NOT_FOUND = 6
EXIT_AUTH = 7
EXIT_CONFLICT = 8

_MEANING = {
    0: "success",
    EXIT_FAILURE: "failure: server error, server unreachable, unexpected answer",
    EXIT_USAGE: "usage: bad arguments, bad --data JSON, malformed id (also the server's 400, 413)",
    EXIT_TASK_ERROR: "the task ended in error",
    EXIT_TASK_CANCELLED: "the task ended cancelled",
    EXIT_TIMEOUT: "--timeout passed before the task ended",
    EXIT_NOT_FOUND: "no such task (404)",
    EXIT_AUTH: "authentication failed or not allowed (401, 403)",
    EXIT_CONFLICT: "conflict, e.g. cancelling a task that has already ended (409)",
}
#: Every command of the group can end with these.
COMMON = (0, EXIT_FAILURE, EXIT_USAGE, EXIT_AUTH)


def exit_codes(*codes: int) -> str:
    """A help footer listing :data:`COMMON` and ``codes``, in order."""
    chosen = sorted({*COMMON, *codes})
    lines = [f"  {code}  {_meaning(code, chosen)}" for code in chosen]
    return "\b\nExit codes:\n" + "\n".join(lines)


def _meaning(code: int, chosen: list[int]) -> str:
    if code == 0 and EXIT_TASK_ERROR in chosen:
        return "success; a watched task ended done"
    return _MEANING[code]


#: The group's footer: every code.
EXIT_CODES = exit_codes(*_MEANING)
