"""The case store: every consultation as a case with turns and an audit trail of events.

Build it with ``CaseStore.from_settings(settings)``: the engine comes from
``settings.database_url_resolved`` (SQLite under the data dir by default — WAL, busy timeout,
``BEGIN IMMEDIATE`` — or PostgreSQL via ``postgresql+psycopg://``), and the schema is upgraded to
the Alembic head right away (``upgrade=True``, idempotent and cheap when already at head; replicas
starting together are serialised by an advisory lock on PostgreSQL). When the database is
unreachable at start the store still builds, logs an error, and retries the upgrade before its
next operation. ``consult db upgrade`` runs the same upgrade explicitly.

Every method is one transaction and returns frozen views (``bot.cases.views``), never ORM
objects. A case may be named by its id or its reference (``"相談#12"``). Connection failures
raise ``StoreUnavailable``; an unknown case raises ``CaseNotFound``.

Logging: case ids/refs and event kinds only — never question text, answers, notes or names.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases import lifecycle as lc
from bot.cases import queries
from bot.cases.actions import CaseActions
from bot.cases.reports import CaseReports
from bot.cases.convert import one_case_view, turn_view
from bot.cases.db import create_case_engine, utcnow
from bot.cases.engine import StoreEngine
from bot.cases.inbox import InboxActions
from bot.cases.models import TurnRow
from bot.cases.views import (BegunTurn, CaseDetail, CaseStatus, CaseView, OpenedCase,
                             StaffQueue, TurnView, parse_ref)
from bot.domain import Answer, Conversation, HistoryTurn, Requester
from bot.errors import CaseNotFound, ConsultError, StoreUnavailable

log = logging.getLogger(__name__)
CaseRef = int | str
DEFAULT_DELIVERY_TTL_S = 86400
_PURGE_EVERY = 200


def _check_status(status: str | None) -> None:
    if status is not None and status not in {str(s) for s in CaseStatus}:
        raise ConsultError(f"unknown status {status}", user_message=(
            f"状態「{status}」は不明です。answered / needs_staff / in_progress / resolved "
            "のいずれかを指定してください。"))


class CaseStore(StoreEngine, CaseActions, CaseReports, InboxActions):
    # ---- construction and schema ----------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings, *, upgrade: bool = True, migrate: bool | None = None,
                      clock: Callable[[], datetime] = utcnow) -> "CaseStore":
        """Store for ``settings.database_url_resolved``; upgrades the schema unless told not to
        (``upgrade=False``; ``migrate=`` is accepted as an alias)."""
        if migrate is not None:
            upgrade = migrate
        return cls.from_url(settings.database_url_resolved, upgrade=upgrade, clock=clock)

    @classmethod
    def from_url(cls, url: str, *, upgrade: bool = True, clock: Callable[[], datetime] = utcnow,
                 **engine_options) -> "CaseStore":
        """``engine_options``: ``sqlite_busy_timeout_s``, ``pool_size``, ``max_overflow``."""
        store = cls(create_case_engine(url, **engine_options), clock=clock)
        if upgrade:
            try:
                store.upgrade()
            except StoreUnavailable:
                store._schema_ready = False
                log.error("case database unreachable at start (%s); will retry the schema upgrade "
                          "before the next operation", store.describe())
        return store


    def _case_id(self, case: CaseRef) -> int:
        return parse_ref(case)

    # ---- the consultation path --------------------------------------------------------------------
    def claim_delivery(self, key: str, ttl_s: int = DEFAULT_DELIVERY_TTL_S) -> bool:
        """Record a Slack delivery key (event_id / client_msg_id). True the first time (or once the
        earlier claim expired), False for a retry — across replicas, by a unique key in the DB."""
        self._claims += 1
        if self._claims % _PURGE_EVERY == 0:
            self.purge_deliveries()
        return self._run(lambda s, now: lc.claim_delivery(s, key, ttl_s, now))

    def purge_deliveries(self) -> int:
        """Delete expired delivery claims; returns how many."""
        return self._run(lambda s, now: lc.purge_deliveries(s, now))

    def begin_turn(self, conversation: Conversation, requester: Requester, question: str, *,
                   pii_kinds: tuple[str, ...] | list[str] = (), dedupe_key: str | None = None,
                   municipality: str | None = None, ttl_s: int = DEFAULT_DELIVERY_TTL_S,
                   history_turns: int = lc.HISTORY_TURNS) -> BegunTurn:
        """One transaction: claim ``dedupe_key`` (a duplicate returns ``duplicate=True`` and writes
        nothing), find/create/reopen the conversation's case, insert the turn (question already
        masked, answer still empty) and read the history of earlier turns."""

        def work(s: Session, now: datetime) -> BegunTurn:
            if dedupe_key and not lc.claim_delivery(s, dedupe_key, ttl_s, now):
                row = lc.find_case_row(s, conversation)
                return BegunTurn(duplicate=True, case=row and one_case_view(s, row), turn_id=None,
                                 created=False, reopened=False, history=())
            row, created, reopened = lc.open_case(s, conversation, requester, question,
                                                  municipality, now)
            turn = lc.start_turn(s, row, question, list(pii_kinds), dedupe_key, now)
            hist = lc.history(s, row.id, before_turn_id=turn.id, limit=history_turns)
            return BegunTurn(duplicate=False, case=one_case_view(s, row), turn_id=turn.id,
                             created=created, reopened=reopened, history=tuple(hist))

        return self._run(work)

    def complete_turn(self, turn_id: int, answer: Answer | None, *,
                      error: str | None = None) -> CaseView:
        """Write the answer (or the error class name) into a started turn. A declined or failed
        answer moves an ``answered`` case to ``needs_staff``. Completing twice is a no-op."""

        def work(s: Session, now: datetime) -> CaseView:
            turn = s.get(TurnRow, turn_id)
            if turn is None:
                raise CaseNotFound(f"turn {turn_id} not found")
            if turn.completed_at is not None:
                return one_case_view(s, lc.get_case_row(s, turn.case_id))
            return one_case_view(s, lc.complete_turn(s, turn, answer, error, now))

        view = self._run(work)
        log.info("turn %s of %s completed (status %s)", turn_id, view.ref, view.status)
        return view

    def add_turn(self, conversation: Conversation, requester: Requester, question: str,
                 answer: Answer | None, *, pii_kinds: tuple[str, ...] | list[str] = (),
                 dedupe_key: str | None = None, municipality: str | None = None,
                 error: str | None = None) -> tuple[CaseView, int] | None:
        """Open/continue the case and record a complete turn in ONE transaction (used when the
        answer already exists, e.g. replaying the outage spool). None when ``dedupe_key`` was
        already claimed (the turn exists)."""

        def work(s: Session, now: datetime):
            if dedupe_key and not lc.claim_delivery(s, dedupe_key, DEFAULT_DELIVERY_TTL_S, now):
                return None
            row, _, _ = lc.open_case(s, conversation, requester, question, municipality, now)
            turn = lc.start_turn(s, row, question, list(pii_kinds), dedupe_key, now)
            row = lc.complete_turn(s, turn, answer, error, now)
            return one_case_view(s, row), turn.id

        return self._run(work)

    def find_case(self, conversation: Conversation) -> CaseView | None:
        def work(s: Session, now: datetime):
            row = lc.find_case_row(s, conversation)
            return row and one_case_view(s, row)
        return self._run(work, write=False)

    def open_case(self, conversation: Conversation, requester: Requester, *, title: str,
                  municipality: str | None = None) -> OpenedCase:
        """Find the conversation's case or create it (status ``answered``); reopen if resolved."""
        def work(s: Session, now: datetime) -> OpenedCase:
            row, created, reopened = lc.open_case(s, conversation, requester, title,
                                                  municipality, now)
            return OpenedCase(one_case_view(s, row), created, reopened)
        return self._run(work)

    def history(self, case: CaseRef, limit: int = lc.HISTORY_TURNS, *,
                before_turn_id: int | None = None) -> list[HistoryTurn]:
        case_id = self._case_id(case)
        return self._run(lambda s, now: lc.history(s, case_id, before_turn_id=before_turn_id,
                                                   limit=limit), write=False)

    def turn_for_key(self, dedupe_key: str) -> tuple[CaseView, TurnView] | None:
        """The (latest) turn begun for a delivery key, with its case — to resume a delivery."""
        key = dedupe_key[:255]

        def work(s: Session, now: datetime):
            turn = s.scalars(select(TurnRow).where(TurnRow.dedupe_key == key)
                             .order_by(TurnRow.id.desc()).limit(1)).first()
            if turn is None:
                return None
            return one_case_view(s, lc.get_case_row(s, turn.case_id)), turn_view(turn)
        return self._run(work, write=False)

    # ---- reads ------------------------------------------------------------------------------------
    def get_case(self, case: CaseRef) -> CaseView:
        """By id or reference (``"相談#12"``); raises CaseNotFound."""
        case_id = self._case_id(case)
        return self._run(lambda s, now: one_case_view(s, lc.get_case_row(s, case_id)), write=False)

    def get_turn(self, turn_id: int) -> TurnView:
        def work(s: Session, now: datetime) -> TurnView:
            turn = s.get(TurnRow, turn_id)
            if turn is None:
                raise CaseNotFound(f"turn {turn_id} not found")
            return turn_view(turn)
        return self._run(work, write=False)

    def case_detail(self, case: CaseRef, *, include_internal: bool = True) -> CaseDetail:
        """The case with its turns and events. ``include_internal=False`` drops internal notes
        (for anything an officer may see)."""
        case_id = self._case_id(case)
        return self._run(lambda s, now: queries.detail(s, case_id, include_internal), write=False)

    def list_cases(self, *, status: str | None = None, since: datetime | None = None,
                   municipality: str | None = None, requester: str | None = None,
                   assignee: str | None = None, limit: int | None = None,
                   newest_first: bool = True) -> list[CaseView]:
        _check_status(status)
        return self._run(lambda s, now: queries.list_cases(
            s, status=status, since=since, municipality=municipality, requester=requester,
            assignee=assignee, limit=limit, newest_first=newest_first), write=False)

    def list_details(self, *, include_internal: bool = True, **filters) -> list[CaseDetail]:
        """Like ``list_cases`` (same filters) but with each case's turns and events."""
        _check_status(filters.get("status"))
        return self._run(lambda s, now: queries.list_details(s, include_internal, **filters), write=False)

    def staff_queue(self, limit: int = 50) -> StaffQueue:
        """needs_staff first, then in_progress, oldest first; with counts by status."""
        return self._run(lambda s, now: queries.staff_queue(s, limit), write=False)

    def cases_for_requester(self, user_id: str, limit: int = 20) -> list[CaseView]:
        """An officer's own cases, newest first (officers only ever see their own)."""
        return self.list_cases(requester=user_id, limit=limit)

    def export_details(self, *, since: datetime | None = None,
                       include_internal: bool = True) -> list[CaseDetail]:
        """Every case (oldest first) with turns and events, for `consult cases export`."""
        return self._run(lambda s, now: queries.export_details(s, since, include_internal),
                         write=False)
