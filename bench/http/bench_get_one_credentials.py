"""GET one task with every credential, before and after, against bare Starlette (issue 15).

Run by hand, never in CI (see bench/README.md, "Issue 15"):

    BENCH_BEFORE_SRC=/tmp/before .venv/bin/python bench/http/bench_get_one_credentials.py

Reuses ``bench_get_one.py`` (its seeded SQLite database, uvicorn launcher, wrk driver and CPU
accounting) and measures, alternating within each round:

  bare-starlette-sqlite  the baseline: bench-peers' bare app reading the same row
  <side>-key             ``X-API-Key`` header
  <side>-query           ``?api_key=`` query parameter
  <side>-bearer          ``Authorization: Bearer`` (a client_credentials token, fetched from
                         the server before each measurement)
  <side>-304             ``X-API-Key`` + ``If-None-Match`` naming the current version (304)

where <side> is ``after`` (this checkout) and, if ``BENCH_BEFORE_SRC`` names another checkout
of tasktrack (e.g. ``git archive main | tar -x -C /tmp/before``), ``before``: that code served
from a copy of the database (without migration 0011 if that tree predates it). Every request asks
for ``application/json``. ``BENCH_VARIANTS`` picks a subset; other knobs as bench_get_one.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_get_one as base  # noqa: E402

from tasktrack.service.identity import IdentityService  # noqa: E402
from tasktrack.storage.factory import open_stores  # noqa: E402

BEFORE_SRC = os.environ.get("BENCH_BEFORE_SRC")
CLIENT_FILE = base.STATE / "oauth_client.txt"
BEFORE_DB = base.STATE / "get_one_before.db"
VERSION = "1"  # every seeded task's version (Task.version starts at 1)


@dataclass(frozen=True)
class Cred:
    name: str
    side: str  # "after", "before" or "bare"
    credential: str  # "key", "query", "bearer"
    conditional: bool = False


def variants() -> list[Cred]:
    out = [Cred("bare-starlette-sqlite", "bare", "key")]
    for side in ["after", *(["before"] if BEFORE_SRC else [])]:
        out += [
            Cred(f"{side}-key", side, "key"),
            Cred(f"{side}-query", side, "query"),
            Cred(f"{side}-bearer", side, "bearer"),
            Cred(f"{side}-304", side, "key", conditional=True),
        ]
    wanted = os.environ.get("BENCH_VARIANTS")
    return [v for v in out if not wanted or v.name in wanted.split(",")]


async def _client() -> tuple[str, str]:
    stores = await open_stores(f"sqlite:///{base.DB_PATH}")
    try:
        identity = IdentityService(stores.identity)
        org, _ = await identity.ensure_default()
        client, secret = await identity.create_oauth_client(org.id, name="bench")
    finally:
        await stores.close()
    return client.id, secret


def oauth_client() -> tuple[str, str]:
    """An OAuth client in the seeded database (made once, kept beside it)."""
    if CLIENT_FILE.exists() and base.REUSE_DB:
        client_id, secret = CLIENT_FILE.read_text().split()
        return client_id, secret
    client_id, secret = asyncio.run(_client())
    CLIENT_FILE.write_text(f"{client_id} {secret}\n")
    return client_id, secret


def _migrations(tree: Path) -> set[str]:
    return {p.name for p in (tree / "tasktrack/storage/sqlite/migrations").glob("[0-9]*")}


def before_db() -> None:
    """A copy of the database as the before tree expects it: as is when that tree has every
    migration this one has, else without migration 0011 (the tree of stop 17 had none)."""
    with sqlite3.connect(base.DB_PATH) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(base.DB_PATH, BEFORE_DB)
    assert BEFORE_SRC is not None
    if _migrations(base.REPO) <= _migrations(Path(BEFORE_SRC)):
        return
    con = sqlite3.connect(BEFORE_DB)
    try:
        triggers = con.execute(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'trigger' AND name LIKE 'identity_changes%'"
        ).fetchall()
        with con:
            for (name,) in triggers:
                con.execute(f"DROP TRIGGER {name}")
            con.execute("DROP TABLE IF EXISTS identity_changes")
            con.execute("DELETE FROM tasktrack_schema WHERE version >= 11")
    finally:
        con.close()


def token(client: tuple[str, str]) -> str:
    body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{base.PORT}/auth/oauth2/token", body)
    pair = f"{client[0]}:{urllib.parse.quote(client[1])}"
    request.add_header("Authorization", "Basic " + _b64(pair))
    with urllib.request.urlopen(request, timeout=5) as reply:
        access: str = json.loads(reply.read())["access_token"]
    return access


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _serve(v: Cred, key: str, sample: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server for ``v``; returns (process, its URL of ``sample``)."""
    app = base.BASELINE if v.side == "bare" else "tasktrack"
    env_before = dict(os.environ)
    db_before = base.DB_PATH
    if v.side == "before":
        assert BEFORE_SRC is not None
        os.environ["PYTHONPATH"] = BEFORE_SRC
        base.DB_PATH = BEFORE_DB
    try:
        url = f"http://127.0.0.1:{base.PORT}/v2.0/tasks/{sample}"
        proc = base.start(base.Variant(v.name, app), 1, url, {"X-API-Key": key})
    finally:
        os.environ.clear()
        os.environ.update(env_before)
        base.DB_PATH = db_before
    return proc, url


def measure(v: Cred, key: str, client: tuple[str, str], sample: str) -> base.Sample:
    proc, url = _serve(v, key, sample)
    try:
        headers = {"Accept": "application/json"}
        query = ""
        if v.credential == "key":
            headers["X-API-Key"] = key
        elif v.credential == "query":
            query = f"?api_key={key}"
        else:
            headers["Authorization"] = f"Bearer {token(client)}"
        check = dict(headers)
        if v.conditional and v.side != "bare":
            check["If-None-Match"] = f'W/"{sample}.{VERSION}"'
        status, _ = base._get(url + query, check)
        expected = 304 if "If-None-Match" in check else 200
        if status != expected:
            raise SystemExit(f"{v.name}: HTTP {status}, expected {expected}")
        os.environ["BENCH_QUERY"] = query
        os.environ["BENCH_ETAG_VERSION"] = VERSION if v.conditional else ""
        base.wrk(base.WARMUP_SECS, headers, proc.pid)
        sample_ = base.wrk(base.SECS, headers, proc.pid)
    finally:
        os.environ.pop("BENCH_QUERY", None)
        os.environ.pop("BENCH_ETAG_VERSION", None)
        base.stop(proc)
    all_304 = v.conditional and v.side != "bare" and sample_.non_2xx == sample_.requests
    if sample_.non_2xx and not all_304:
        raise SystemExit(f"{v.name}: {sample_.non_2xx} unexpected replies")
    return sample_


def main() -> None:
    info = base.machine()
    base.log(f"machine: {info}; load {os.getloadavg()}")
    key, ids = base.seed(base.N_TASKS)
    client = oauth_client()
    if BEFORE_SRC:
        before_db()
    sample = ids[len(ids) // 2]
    chosen = variants()
    runs: dict[str, base.Runs] = {v.name: base.Runs() for v in chosen}
    loads: list[float] = []
    for round_no in range(1, base.ROUNDS + 1):
        loads.append(os.getloadavg()[0])
        # Each round starts one variant later: the first server after a switch measured
        # 10-20 % slower on the AMD machine of stop 23, and a fixed order gave that to one
        # variant every round.
        shift = (round_no - 1) % len(chosen)
        for v in chosen[shift:] + chosen[:shift]:
            s = measure(v, key, client, sample)
            r = runs[v.name]
            r.rps.append(s.rps)
            r.p50_ms.append(s.p50_ms)
            r.p99_ms.append(s.p99_ms)
            r.cpu_us.append(s.cpu_us)
            r.foreign.append(s.foreign)
            base.log(
                f"round {round_no} {v.name}: {s.rps:,.0f} req/s p50 {s.p50_ms:.2f} "
                f"p99 {s.p99_ms:.2f} ms, {s.cpu_us:.0f} µs CPU/req, others {s.foreign:.2f}"
            )
    print(report(info, chosen, runs, loads))


def report(
    info: dict[str, str], chosen: list[Cred], runs: dict[str, base.Runs], loads: list[float]
) -> str:
    med = statistics.median
    ref = runs.get(base.BASELINE)
    lines = [
        f"Machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, commit "
        f"{info['commit']}; wrk -t{base.THREADS} -c{base.CONNECTIONS} -d{base.SECS}s, "
        f"{base.ROUNDS} rounds, {base.N_TASKS:,} tasks; 1-min load at round starts: "
        + ", ".join(f"{x:.1f}" for x in loads),
        "",
        "| variant | req/s | p50 ms | p99 ms | server CPU µs/req | vs bare (median of "
        "per-round ratios) | CPU/req: bare ÷ this | req/s per round | other CPU (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for v in chosen:
        r = runs[v.name]
        ratio = cpu = "-"
        if ref is not None:
            paired = med(a / b for a, b in zip(r.rps, ref.rps, strict=True))
            ratio = f"{med(r.rps) / med(ref.rps):.0%} ({paired:.0%})"
            cpu = f"{med(ref.cpu_us) / med(r.cpu_us):.0%}"
        lines.append(
            f"| {v.name} | {med(r.rps):,.0f} | {med(r.p50_ms):.2f} | {med(r.p99_ms):.2f} "
            f"| {med(r.cpu_us):.0f} | {ratio} | {cpu} | "
            + ", ".join(f"{x:,.0f}" for x in r.rps)
            + " | "
            + ", ".join(f"{x:.2f}" for x in r.foreign)
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
