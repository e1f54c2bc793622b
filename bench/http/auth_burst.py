"""A burst of wrong passwords against a real server, and another address's GET latency.

Run by hand from the worktree root (never in CI)::

    .venv/bin/python -m bench.http.auth_burst            # 300 guesses, limit 20
    BENCH_BURST=300 BENCH_LIMIT=20 BENCH_ROUNDS=3 .venv/bin/python -m bench.http.auth_burst

It starts ``tasktrack serve`` on a fresh SQLite file (trusting ``X-Forwarded-For`` from
127.0.0.1, so the attacker and the bystander have different addresses), measures a
bystander's sequential ``GET /v2.0/tasks`` latency idle, then again while ``BENCH_BURST``
wrong passwords for one account arrive at once, and prints the answers' status counts, the
burst's duration and the bystander's p50/p99 both times. docs/identity.md quotes the figures.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from tests.integration.auth_server import AuthServer, Tenant, prepare, start, stop

BURST = int(os.environ.get("BENCH_BURST", "300"))
LIMIT = int(os.environ.get("BENCH_LIMIT", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
IDLE_SAMPLES = 200


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def _bystander(server: AuthServer, key: str, until: threading.Event, least: int) -> list[float]:
    samples: list[float] = []
    headers = {"X-API-Key": key, "X-Forwarded-For": "10.77.0.1"}
    with server.client(headers=headers) as http:
        while len(samples) < least or not until.is_set():
            started = time.perf_counter()
            http.get("/v2.0/tasks").raise_for_status()
            samples.append(time.perf_counter() - started)
    return samples


async def _guesses(base_url: str, email: str, address: str) -> Counter[int]:
    form = {"grant_type": "password", "username": email, "password": "guess"}
    limits = httpx.Limits(max_connections=BURST)
    headers = {"X-Forwarded-For": address}
    async with httpx.AsyncClient(
        base_url=base_url, timeout=300, limits=limits, headers=headers
    ) as http:
        answers = await asyncio.gather(
            *(http.post("/auth/oauth2/token", data=form) for _ in range(BURST))
        )
    return Counter(r.status_code for r in answers)


def _attack(base_url: str, email: str, address: str) -> tuple[Counter[int], float]:
    """The burst, in a process of its own so the bystander's timing shares no GIL with it."""
    started = time.perf_counter()
    statuses = asyncio.run(_guesses(base_url, email, address))
    return statuses, time.perf_counter() - started


def _round(server: AuthServer, tenant: Tenant, n: int, pool: ProcessPoolExecutor) -> None:
    idle = _bystander(server, tenant.api_key, _set(threading.Event()), IDLE_SAMPLES)
    done = threading.Event()
    attack = pool.submit(_attack, server.base_url, tenant.email, f"10.66.0.{n}")
    attack.add_done_callback(lambda _: done.set())
    during = _bystander(server, tenant.api_key, done, 20)
    statuses, seconds = attack.result()
    print(
        f"round {n}: answers {dict(statuses)} in {seconds:.1f} s; bystander GET p50/p99 ms "
        "idle %.1f/%.1f, during the burst %.1f/%.1f (%d samples)"
        % (*_percentiles(idle), *_percentiles(during), len(during))
    )


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


def main() -> None:
    """Run :data:`ROUNDS` rounds, each from a fresh attacker address."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{(workdir / 'auth.db').resolve()}"
        tenant = prepare(db_url, ["acme"])["acme"]
        env = {
            "TASKTRACK_AUTH_FAILURES_PER_MINUTE": str(LIMIT),
            "TASKTRACK_FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
        server = start(workdir, env, db_url=db_url)
        try:
            with ProcessPoolExecutor(1) as pool:
                for n in range(1, ROUNDS + 1):
                    _round(server, tenant, n, pool)
        finally:
            stop(server)


if __name__ == "__main__":
    main()
