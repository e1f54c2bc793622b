"""A burst of wrong passwords against a real server, and another address's GET latency.

Run by hand from the worktree root (never in CI)::

    .venv/bin/python -m bench.http.auth_burst            # 300 guesses, limit 20
    BENCH_BURST=300 BENCH_LIMIT=20 BENCH_ROUNDS=3 .venv/bin/python -m bench.http.auth_burst

It starts ``tasktrack serve`` on a fresh SQLite file (trusting ``X-Forwarded-For`` from
127.0.0.1, so the attacker and the bystander have different addresses), measures a
bystander's sequential ``GET /v2.0/tasks`` latency idle, then again while ``BENCH_BURST``
wrong passwords for one account arrive at once, and prints the answers' status counts, the
burst's duration, the bystander's p50/p99 both times, and the CPU seconds the server and
the attacking client used. docs/identity.md quotes the figures.

The attacker writes pre-built requests on ``BENCH_BURST`` raw connections from a process of
its own: a real attacker's CPU is on another machine, and an HTTP client library spent about
3 s of CPU sending 300 requests, which on a 2-core machine measured the client competing
with the server rather than the server (``BENCH_ATTACKER=httpx`` restores that client).
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

from tests.integration.auth_server import AuthServer, Tenant, prepare, start, stop

BURST = int(os.environ.get("BENCH_BURST", "300"))
LIMIT = int(os.environ.get("BENCH_LIMIT", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ATTACKER = os.environ.get("BENCH_ATTACKER", "raw")
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


def _form(email: str) -> dict[str, str]:
    return {"grant_type": "password", "username": email, "password": "guess"}


async def _raw_guesses(base_url: str, email: str, address: str) -> Counter[int]:
    """The burst on raw connections: one pre-built request each, read to the close."""
    url = urlsplit(base_url)
    body = urlencode(_form(email)).encode()
    head = (
        f"POST /auth/oauth2/token HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"X-Forwarded-For: {address}\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    request = head.encode() + body

    async def guess() -> int:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(request)
        answer = await reader.read()
        writer.close()
        return int(answer.split(b" ", 2)[1])

    return Counter(await asyncio.gather(*(guess() for _ in range(BURST))))


async def _httpx_guesses(base_url: str, email: str, address: str) -> Counter[int]:
    limits = httpx.Limits(max_connections=BURST)
    headers = {"X-Forwarded-For": address}
    async with httpx.AsyncClient(
        base_url=base_url, timeout=300, limits=limits, headers=headers
    ) as http:
        answers = await asyncio.gather(
            *(http.post("/auth/oauth2/token", data=_form(email)) for _ in range(BURST))
        )
    return Counter(r.status_code for r in answers)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _attack(base_url: str, email: str, address: str) -> tuple[Counter[int], float, float]:
    """The burst, in a process of its own so the bystander's timing shares no GIL with it."""
    guesses = _httpx_guesses if ATTACKER == "httpx" else _raw_guesses
    cpu, started = _cpu_seconds(), time.perf_counter()
    statuses = asyncio.run(guesses(base_url, email, address))
    return statuses, time.perf_counter() - started, _cpu_seconds() - cpu


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _round(server: AuthServer, tenant: Tenant, n: int, pool: ProcessPoolExecutor) -> None:
    idle = _bystander(server, tenant.api_key, _set(threading.Event()), IDLE_SAMPLES)
    done = threading.Event()
    server_cpu = _process_cpu(server.process.pid)
    attack = pool.submit(_attack, server.base_url, tenant.email, f"10.66.0.{n}")
    attack.add_done_callback(lambda _: done.set())
    during = _bystander(server, tenant.api_key, done, 20)
    server_cpu = _process_cpu(server.process.pid) - server_cpu
    statuses, seconds, attacker_cpu = attack.result()
    print(
        f"round {n}: answers {dict(statuses)} in {seconds:.1f} s; bystander GET p50/p99 ms "
        "idle %.1f/%.1f, during the burst %.1f/%.1f (%d samples); CPU s: server %.2f, "
        "attacker %.2f; load %s"
        % (
            *_percentiles(idle),
            *_percentiles(during),
            len(during),
            server_cpu,
            attacker_cpu,
            Path("/proc/loadavg").read_text().split()[0],
        )
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
                pool.submit(int).result()  # started before the first round, not during it
                for n in range(1, ROUNDS + 1):
                    _round(server, tenant, n, pool)
        finally:
            stop(server)


if __name__ == "__main__":
    main()
