"""Advisory file locks shared by the harness's processes (pytest-xdist workers, CLIs).

`locked(path, timeout)` holds an exclusive `flock` on `path` (created if missing) for the body
of a `with` statement. The guest build and the accelerator measurement take one each, so that
parallel workers do the work once and the others wait for its result.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import LockTimeout

_POLL_S = 0.05


@contextmanager
def locked(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on `path`; raise LockTimeout after `timeout` seconds of waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(path, "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(path, timeout) from None
                time.sleep(_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
