"""Open long polls do not hold up a SIGTERM of ``tasktrack serve``.

uvicorn waits for every open response before it shuts down and has no timeout for that by
default: a dashboard following a task's log (``wait=25``) or a client watching a task
(``wait=30``) kept the server up until the wait ran out, even after the client had gone.
Now a long poll answers with the current state at its next look once the server is told to
exit (tasktrack/api/shutdown.py), as it would have when its wait ran out.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from tests.integration.conftest import StartServer

#: A wait no test could sit out: the server must answer well before it.
WAIT = 55
#: How long the server may take to exit after SIGTERM with the polls open (its worker stops
#: too); before the fix, a poll alone held it for ``WAIT`` seconds.
EXIT_BOUND = 10.0


def test_sigterm_answers_open_long_polls_and_exits(server_factory: StartServer) -> None:
    server = server_factory(env={"TASKTRACK_WORKER": "1"})
    with server.client() as api:
        body = {"name": "demo.sleep", "data": {}, "delaySeconds": 3600}
        task = api.post("/v2.0/tasks", json=body).json()  # queued for an hour: never changes
    url = f"/v2.0/tasks/{task['_id']}"
    sending = threading.Barrier(3, timeout=30)

    def poll(path: str) -> httpx.Response:
        headers = {"X-API-Key": server.api_key}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=WAIT + 30) as client:
            sending.wait()
            return client.get(path, params={"wait": WAIT})

    with ThreadPoolExecutor(2) as pool:
        polls: list[Future[httpx.Response]] = [
            pool.submit(poll, url),
            pool.submit(poll, f"{url}/logs"),
        ]
        sending.wait()
        # One plain read after both polls were sent: the server's loop has taken them by the
        # time it answers this (and neither has returned: nothing changes for an hour).
        with server.client() as api:
            assert api.get(url).status_code == 200
        assert not any(p.done() for p in polls)
        asked = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {EXIT_BOUND} s after SIGTERM") from None
        exited = time.monotonic() - asked
        answers = [p.result(timeout=5) for p in polls]
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["status"] == "queued"
    assert answers[1].json()["items"] == []
    print(f"exited {exited:.2f} s after SIGTERM with two long polls open")
