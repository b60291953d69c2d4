"""Who may read and act on cases: the staff policy the workflow service is handed.

``StaffPolicy`` is the interface (``is_staff``, ``can_read``, ``can_act``); the workflow asks it
before every action and the web console on every request. ``DefaultStaffPolicy`` is today's rule:

- a user listed in ``CONSULT_STAFF_USERS`` is staff;
- so is every member of ``CONSULT_STAFF_CHANNEL`` (``conversations.members``, paginated, cached
  for a minute per channel so a burst of clicks or page views costs one API call);
- so is the local operator (``CONSULT_LOCAL_OPERATOR``, default ``cli:<login>``): the person at
  the machine that runs the product, who can read its database anyway — the CLI acts as them and
  ``make run`` signs them in to the console;
- a failing membership lookup is logged and counts as "not staff" (fail closed); the explicit
  list keeps working.

Every staff member may read and act on every case. A team-aware policy (cases routed to a
振興局 team; others may read but not act) replaces this object without touching its callers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterable, Protocol

from bot.cases.views import CaseView

log = logging.getLogger(__name__)

MEMBERS_TTL_SECONDS = 60.0


class StaffPolicy(Protocol):
    def is_staff(self, user_id: str | None) -> bool: ...

    def can_read(self, user_id: str | None, case: CaseView) -> bool: ...

    def can_act(self, user_id: str | None, case: CaseView) -> bool: ...

    def known_staff(self) -> list[str]: ...


class _TTLCache:
    """Tiny TTL cache of channel members (per policy object; no module globals)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}

    def get(self, key: str) -> frozenset[str] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry and time.monotonic() - entry[0] < self.ttl:
                return entry[1]
            return None

    def put(self, key: str, members: frozenset[str]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), members)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class DefaultStaffPolicy:
    """Staff = ``staff_users`` + members of ``staff_channel`` + the local operator.

    ``client`` is anything with Slack's ``conversations_members`` (a ``slack_sdk.WebClient``);
    None when Slack is not configured (then only the explicit list and the local operator)."""

    def __init__(self, *, staff_users: Iterable[str] = (), staff_channel: str | None = None,
                 client: Any = None, local_operator: str | None = None,
                 ttl: float = MEMBERS_TTL_SECONDS) -> None:
        self.staff_users = frozenset(u for u in staff_users if u)
        self.staff_channel = staff_channel
        self.client = client
        self.local_operator = local_operator
        self._cache = _TTLCache(ttl)

    @classmethod
    def from_settings(cls, settings, client: Any = None) -> "DefaultStaffPolicy":
        return cls(staff_users=settings.staff_users, staff_channel=settings.staff_channel,
                   client=client, local_operator=settings.local_operator_id)

    def clear_cache(self) -> None:
        """Forget cached memberships (after the staff channel changed)."""
        self._cache.clear()

    def channel_members(self) -> frozenset[str]:
        """Members of the staff channel (cached). Raises the client's error when Slack refuses."""
        if not self.staff_channel or self.client is None:
            return frozenset()
        cached = self._cache.get(self.staff_channel)
        if cached is not None:
            return cached
        members: set[str] = set()
        cursor: str | None = None
        while True:
            resp = self.client.conversations_members(channel=self.staff_channel, cursor=cursor,
                                                     limit=200)
            members.update(resp.get("members") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        result = frozenset(members)
        self._cache.put(self.staff_channel, result)
        return result

    def _members_or_none(self) -> frozenset[str]:
        try:
            return self.channel_members()
        except Exception as exc:  # SlackApiError, a network error: fail closed, loudly
            response = getattr(exc, "response", None)
            reason = response.get("error") if response is not None else type(exc).__name__
            log.error("staff channel membership lookup failed (%s); treating user as non-staff",
                      reason)
            return frozenset()

    def is_staff(self, user_id: str | None) -> bool:
        if not user_id:
            return False
        if user_id in self.staff_users or (self.local_operator and user_id == self.local_operator):
            return True
        return user_id in self._members_or_none()

    def can_read(self, user_id: str | None, case: CaseView) -> bool:
        return self.is_staff(user_id)

    def can_act(self, user_id: str | None, case: CaseView) -> bool:
        return self.is_staff(user_id)

    def known_staff(self) -> list[str]:
        """Every staff user id this policy knows (for an assignee picker), bots excluded by the
        caller; the local operator is not listed (not a Slack user)."""
        return sorted(self.staff_users | self._members_or_none())
