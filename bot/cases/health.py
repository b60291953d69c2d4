"""Is the case database reachable and writable, as this process sees it? One log line per change.

The store reports every failure (``failed``) and every successful write (``recovered``); this
object turns that stream into state changes: the first failure of an outage is logged at ERROR
(with the error class, never a traceback or SQL parameters), later failures of the same outage
only at DEBUG, and the first success afterwards once at WARNING with the outage's length. A bot
polling a dead database every second therefore writes two lines per outage, not one per poll.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger("bot.cases.store")


class DatabaseHealth:
    def __init__(self, describe: Callable[[], str]):
        self._describe = describe
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._cause: str | None = None
        self.outages = 0                      # how many outages this process has seen

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def cause(self) -> str | None:
        """The error class of the current outage (None while the database works)."""
        return self._cause

    def failed(self, cause: str) -> bool:
        """Record a failure; True (and one ERROR line) when it starts an outage."""
        with self._lock:
            if self._down_since is not None:
                log.debug("case database still unavailable (%s)", cause)
                return False
            self._down_since = time.monotonic()
            self._cause = cause
            self.outages += 1
        log.error("case database unavailable (%s): %s. Questions are still answered; their "
                  "turns are spooled and written when it is back.", self._describe(), cause)
        return True

    def recovered(self) -> bool:
        """Record a successful write; True (and one WARNING line) when it ends an outage."""
        if self._down_since is None:          # the common case: no lock, no log
            return False
        with self._lock:
            if self._down_since is None:
                return False
            seconds = time.monotonic() - self._down_since
            self._down_since = None
            self._cause = None
        log.warning("case database available again after %.0f s (%s)", seconds,
                    self._describe())
        return True
