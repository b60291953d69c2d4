"""Who counts as staff: `CONSULT_STAFF_USERS`, or a member of `CONSULT_STAFF_CHANNEL`.

Channel membership comes from `conversations.members` (paginated) and is cached for a short
time per (API base URL, channel), so a burst of button clicks costs one API call. A failing
membership lookup is logged and treats the user as not staff (fail closed); the explicit
`CONSULT_STAFF_USERS` list keeps working in that case.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings

log = logging.getLogger(__name__)

MEMBERS_TTL_SECONDS = 60.0


class _MembersCache:
    """Tiny TTL cache of staff channel members; a cache, not a service (holds no connections)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    def get(self, key: tuple[str, str]) -> frozenset[str] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry and time.monotonic() - entry[0] < self.ttl:
                return entry[1]
            return None

    def put(self, key: tuple[str, str], members: frozenset[str]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), members)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_members_cache = _MembersCache(MEMBERS_TTL_SECONDS)


def clear_cache() -> None:
    """Forget every cached membership (tests, or after the staff channel changed)."""
    _members_cache.clear()


def staff_channel_members(client: WebClient, channel: str) -> frozenset[str]:
    """Members of the staff channel (cached). Raises SlackApiError when Slack refuses."""
    key = (str(getattr(client, "base_url", "")), channel)
    cached = _members_cache.get(key)
    if cached is not None:
        return cached
    members: set[str] = set()
    cursor: str | None = None
    while True:
        resp = client.conversations_members(channel=channel, cursor=cursor, limit=200)
        members.update(resp.get("members") or [])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    result = frozenset(members)
    _members_cache.put(key, result)
    return result


def is_staff(client: WebClient, settings: Settings, user_id: str | None) -> bool:
    """True when the user may act on cases (explicit staff list, or staff channel member)."""
    if not user_id:
        return False
    if user_id in settings.staff_users:
        return True
    if not settings.staff_channel:
        return False
    try:
        return user_id in staff_channel_members(client, settings.staff_channel)
    except SlackApiError as exc:
        log.error("staff channel membership lookup failed (%s); treating user as non-staff",
                  exc.response.get("error") if exc.response is not None else exc)
        return False
