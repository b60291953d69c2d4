"""Server-side state of the web console in the case database (table ``consult_web_tokens``):
signed-in sessions, used login links and Sign in with Slack states — each with an expiry, keyed by
a SHA-256 of the secret value (the value itself is never stored or logged).

    tokens = WebTokens(store)
    sid = tokens.new_session("U0STAFF", minutes=480)      # -> secret session id (cookie)
    tokens.session_user(sid)                              # -> "U0STAFF" | None (expired / ended)
    tokens.end_session(sid)
    tokens.use_once("login", nonce, minutes=15)           # True the first time only
    tokens.put("oidc", state, {"nonce": ...}, minutes=10); tokens.take("oidc", state)  # single use
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.cases.models import WebTokenRow

SESSION, LOGIN, OIDC = "session", "login", "oidc"
_PURGE_EVERY = 100


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


class WebTokens:
    def __init__(self, store) -> None:
        self.store = store
        self._writes = 0

    def _run(self, fn):
        return self.store._run(fn)   # one transaction, the store's retry and error mapping

    def _maybe_purge(self) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self.purge()

    # ---- sessions ---------------------------------------------------------------------------
    def new_session(self, user_id: str, *, minutes: int) -> str:
        sid = secrets.token_urlsafe(32)
        self.put(SESSION, sid, None, minutes=minutes, user_id=user_id)
        return sid

    def session_user(self, sid: str | None) -> str | None:
        if not sid:
            return None

        def work(s: Session, now: datetime):
            row = s.get(WebTokenRow, _key(SESSION, sid))
            if row is None or row.kind != SESSION or row.expires_at <= now:
                return None
            return row.user_id
        return self._run(work)

    def end_session(self, sid: str | None) -> None:
        if sid:
            self._run(lambda s, now: s.execute(
                delete(WebTokenRow).where(WebTokenRow.key == _key(SESSION, sid))))

    # ---- single-use values ------------------------------------------------------------------
    def put(self, kind: str, value: str, data: dict | None, *, minutes: float,
            user_id: str | None = None) -> None:
        self._maybe_purge()

        def work(s: Session, now: datetime):
            s.add(WebTokenRow(key=_key(kind, value), kind=kind, user_id=user_id, data=data,
                              created_at=now, expires_at=now + timedelta(minutes=minutes)))
        self._run(work)

    def take(self, kind: str, value: str | None) -> dict | None:
        """The data stored under ``value`` (deleted: a second take gets None); None when unknown
        or expired."""
        if not value:
            return None

        def work(s: Session, now: datetime):
            row = s.scalars(select(WebTokenRow).where(WebTokenRow.key == _key(kind, value))
                            .with_for_update()).first()
            if row is None:
                return None
            data, expired = dict(row.data or {}), row.expires_at <= now
            s.delete(row)
            return None if expired else data
        return self._run(work)

    def use_once(self, kind: str, value: str, *, minutes: float) -> bool:
        """Record ``value`` as used; True the first time, False when it was used before."""
        self._maybe_purge()
        try:
            self.store._run(lambda s, now: s.add(WebTokenRow(
                key=_key(kind, value), kind=kind, user_id=None, data=None, created_at=now,
                expires_at=now + timedelta(minutes=minutes))) or s.flush(), retries=1)
        except IntegrityError:
            return False
        return True

    def purge(self) -> int:
        result = self._run(lambda s, now: s.execute(
            delete(WebTokenRow).where(WebTokenRow.expires_at <= now)))
        return int(result.rowcount or 0)
