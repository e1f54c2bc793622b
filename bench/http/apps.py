"""The ASGI apps the GET-one benchmark serves, one per ``BENCH_APP`` (read at import, so
``uvicorn apps:app --workers 2`` builds the same app in every worker process).

  tasktrack                     tasktrack's own app (``create_app``), on the seeded database
                                named by ``TASKTRACK_DATABASE_URL``; no extensions (no
                                in-process worker). ``BENCH_ACCESS_LOG=1`` also turns on the
                                root logger at INFO the way the ``tasktrack`` CLI does
                                (``logging.basicConfig``), which turns the access log on.
  bare-starlette-sqlite         bare Starlette, as bench-peers' ``starlette-sqlite``: async
                                handler, one ``check_same_thread=False`` sqlite3 connection,
                                primary-key SELECT of the 13 contract columns, row -> dict in
                                contract order -> stdlib ``JSONResponse``.
  bare-starlette-sqlite-orjson  the same read, ``orjson.loads`` for ``data`` and
                                ``Response(orjson.dumps(record))``.

Both bare apps return the same body bytes as tasktrack's ``application/json`` reply (the
driver checks this before measuring). They do no authentication and no scoping.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

VARIANT = os.environ.get("BENCH_APP", "tasktrack")
PATH = "/v2.0/tasks/{task_id}"

SELECT_BY_ID = (
    "SELECT name, data, status, current_step, total_step, fail_reason, last_run_at, "
    "last_finished_at, id, created_at, last_changed, created_by, last_changed_by "
    "FROM tasks WHERE id = ?"
)


def rfc3339(value: float) -> str | None:
    """tasktrack stores "never" as -1 and renders second-precision UTC with ``Z``."""
    return None if value < 0 else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def row_to_record(row: tuple[Any, ...], loads: Any = json.loads) -> dict[str, Any]:
    """The 13 contract fields in contract order (dict order is the wire order)."""
    return {
        "name": row[0],
        "data": loads(row[1]),
        "status": row[2],
        "currentStep": row[3],
        "totalStep": row[4],
        "failReason": row[5],
        "lastRunAt": rfc3339(row[6]),
        "lastFinishedAt": rfc3339(row[7]),
        "_id": row[8],
        "createdAt": row[9],
        "lastChanged": row[10],
        "createdBy": row[11],
        "lastChangedBy": row[12],
    }


def _connect() -> sqlite3.Connection:
    con = sqlite3.connect(os.environ["BENCH_DB_PATH"], check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    return con


def _bare_stdlib() -> Starlette:
    con = _connect()

    async def get_task(request: Request) -> Response:
        row = con.execute(SELECT_BY_ID, (request.path_params["task_id"],)).fetchone()
        if row is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return JSONResponse(row_to_record(row))

    return Starlette(routes=[Route(PATH, get_task)])


def _bare_orjson() -> Starlette:
    con = _connect()

    async def get_task(request: Request) -> Response:
        row = con.execute(SELECT_BY_ID, (request.path_params["task_id"],)).fetchone()
        if row is None:
            return Response(b'{"detail":"not found"}', 404, media_type="application/json")
        return Response(
            orjson.dumps(row_to_record(row, orjson.loads)), media_type="application/json"
        )

    return Starlette(routes=[Route(PATH, get_task)])


def _tasktrack() -> ASGIApp:
    from tasktrack.api.app import create_app
    from tasktrack.config import Settings
    from tasktrack.loader import load_registry

    if os.environ.get("BENCH_ACCESS_LOG") == "1":  # what `tasktrack <command>` does first
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    return create_app(Settings.from_env(log_level="warning"), load_registry([]))


def build(variant: str) -> ASGIApp:
    if variant == "tasktrack":
        return _tasktrack()
    if variant == "bare-starlette-sqlite":
        return _bare_stdlib()
    if variant == "bare-starlette-sqlite-orjson":
        return _bare_orjson()
    raise SystemExit(f"unknown BENCH_APP {variant!r}")


app = build(VARIANT)
