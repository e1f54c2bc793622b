"""24-hex ids in the ObjectId layout: 4-byte seconds, 5 random bytes, 3-byte counter.

Ids therefore sort by creation time (to the second, then by the per-process counter),
which lets the default "newest first" order use the primary key.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

_HEX24 = re.compile(r"[0-9a-f]{24}\Z")
_PROCESS_RANDOM = os.urandom(5)
_PID = os.getpid()
# Start in the lower half so the 3-byte counter does not wrap (and break ordering) soon.
_counter = itertools.count(int.from_bytes(os.urandom(3), "big") >> 1)
_lock = threading.Lock()


def new_id(now: float | None = None) -> str:
    """Return a new id for an object created at ``now`` (default: the current time)."""
    global _PROCESS_RANDOM, _PID
    seconds = int(time.time() if now is None else now)
    with _lock:
        if os.getpid() != _PID:  # forked: a child must not repeat its parent's ids
            _PID, _PROCESS_RANDOM = os.getpid(), os.urandom(5)
        count = next(_counter) & 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _PROCESS_RANDOM + count.to_bytes(3, "big")).hex()


def is_valid_id(value: str) -> bool:
    """True for exactly 24 lowercase hex characters."""
    return bool(_HEX24.match(value))
