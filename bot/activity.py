"""When this process last served a request, so background work can wait for a quiet moment.

The console process also warms the similar-cases vectors in the background (``SimilarCases.warm``
after each FAQ sync round: up to 64 questions through the embedding model, ~8 a second). On a
small machine that work took the CPU from the staff member waiting for a page: over HTTP the
queue's p95 on SQLite was 312 ms with it and 65 ms without (bench/web.py). So the warm-up runs in
small chunks, only while no request is in flight and none has arrived for ``quiet_s`` seconds
(counted from the start of the process too: loading the embedding model is one uninterruptible
step of several seconds).

``ActivityMiddleware`` (ASGI) marks every HTTP request except health checks.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

QUIET_S = 2.0
UNMARKED_PATHS = ("/healthz", "/health")   # probes every few seconds are not a person waiting


class Activity:
    def __init__(self, quiet_s: float = QUIET_S, clock: Callable[[], float] = time.monotonic):
        self.quiet_s = quiet_s
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last = clock()      # a process just started is not quiet yet: the first requests
                                  # (a sign-in, the page behind it) come right after a restart

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._last = self._clock()

    def end(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._last = self._clock()

    def quiet(self) -> bool:
        """No request in flight and none for ``quiet_s`` seconds."""
        with self._lock:
            return self._in_flight == 0 and self._clock() - self._last >= self.quiet_s


class ActivityMiddleware:
    def __init__(self, app, activity: Activity) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") in UNMARKED_PATHS:
            return await self.app(scope, receive, send)
        self.activity.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.end()
