"""Serve ``apps:app`` (variant chosen by ``BENCH_APP``) with the settings ``tasktrack serve``
gives uvicorn, plus httptools and uvloop, for every variant alike.

    BENCH_APP=tasktrack BENCH_PORT=8712 BENCH_WORKERS=1 python bench/http/launch.py
"""

from __future__ import annotations

import os

import uvicorn

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    uvicorn.run(
        "apps:app",
        app_dir=HERE,
        host="127.0.0.1",
        port=int(os.environ.get("BENCH_PORT", "8712")),
        workers=int(os.environ.get("BENCH_WORKERS", "1")),
        access_log=False,  # as `tasktrack serve`
        log_level="warning",
        server_header=False,  # as `tasktrack serve`
        http="httptools",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
