"""A small bounded pool for the slow part of a delivery (consultation, posting the answer).

Bolt acknowledges on its own listener executor; listeners only parse the payload and hand the
slow work here, so a burst of long consultations can never delay the acknowledgement of the
next delivery. Exceptions are logged, never swallowed silently.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, max_workers: int = 8, *, name: str = "consult-slack") -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        with self._idle:
            self._pending += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                log.exception("Slack background task failed: %s", label)
                raise
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

        return self._pool.submit(run)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted task finished (used on shutdown and by tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)
