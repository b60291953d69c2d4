"""Officer and staff actions on a case (mixed into ``CaseStore``; one transaction each).

These are the persistence primitives. The staff RULES — who may act, which transitions are
allowed (``bot.cases.transitions``), masking of typed text, Slack side effects — are applied by
``bot.cases.workflow.StaffWorkflow``, which Slack, the web console and the CLI all call. It passes
``guard=<StaffAction>`` so the transition table is checked inside the same transaction, on the
locked row. Every action is recorded as an event with its actor.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases import lifecycle as lc
from bot.cases import transitions
from bot.cases.convert import event_view, one_case_view
from bot.cases.models import TurnRow
from bot.cases.views import CaseView, EscalationReason, EventView, format_ref
from bot.errors import CaseNotFound

log = logging.getLogger("bot.cases.store")
CaseRef = int | str


class CaseActions:
    """Needs ``_run(fn)``, ``_case_id(case)`` and ``get_case(case)`` from the store."""

    # ---- officer actions ----------------------------------------------------------------------
    def record_feedback(self, turn_id: int | None = None, *, case: CaseRef | None = None,
                        user_id: str, value: str, comment: str | None = None) -> CaseView:
        """👍 (``"up"``) / 👎 (``"down"``) on a turn (or the case's latest turn), optionally with a
        comment (call again with the comment after the 👎 modal; the value may change). A new 👎
        moves an ``answered`` case to ``needs_staff`` (reason ``negative_feedback``)."""
        if value not in ("up", "down"):
            raise ValueError("feedback value must be 'up' or 'down'")
        if turn_id is None and case is None:
            raise ValueError("give turn_id or case")
        case_id = None if case is None else self._case_id(case)

        def work(s: Session, now: datetime) -> CaseView:
            if turn_id is not None:
                turn = s.get(TurnRow, turn_id)
            else:
                turn = s.scalars(select(TurnRow).where(TurnRow.case_id == case_id)
                                 .order_by(TurnRow.id.desc()).limit(1)).first()
            if turn is None or (case_id is not None and turn.case_id != case_id):
                raise CaseNotFound(f"turn {turn_id} / case {case_id} not found")
            return one_case_view(s, lc.record_feedback(s, turn, user_id, value, comment, now))

        view = self._run(work)
        log.info("feedback %s on %s", value, view.ref)
        return view

    def escalate(self, case: CaseRef, *, actor: str,
                 reason: str = EscalationReason.REQUESTED, text: str | None = None) -> CaseView:
        """answered/resolved -> needs_staff with ``reason`` (an EscalationReason value). On a case
        staff already handle, only an event is recorded."""
        case_id = self._case_id(case)

        def work(s: Session, now: datetime) -> CaseView:
            row = lc.get_case_row(s, case_id, lock=True)
            lc.escalate(s, row, actor, reason, now, text=text)
            return one_case_view(s, row)

        view = self._run(work)
        log.info("%s escalated (%s), status %s", view.ref, reason, view.status)
        return view

    # ---- staff actions (authorisation is the caller's job: Slack layer / CLI) ----------------------
    def _act(self, case: CaseRef, action: Callable, what: str,
             guard: transitions.StaffAction | None = None) -> CaseView:
        case_id = self._case_id(case)

        def work(s: Session, now: datetime) -> CaseView:
            row = lc.get_case_row(s, case_id, lock=True)
            if guard is not None:
                transitions.check(guard, row.status, format_ref(row.id))
            action(s, row, now)
            return one_case_view(s, row)

        view = self._run(work)
        log.info("%s: %s (status %s)", view.ref, what, view.status)
        return view

    def assign(self, case: CaseRef, staff_user: str, *, actor: str | None = None,
               guard: transitions.StaffAction | None = None) -> CaseView:
        """Assign to ``staff_user`` (status -> in_progress). ``actor`` defaults to the assignee."""
        return self._act(case, lambda s, row, now: lc.assign(s, row, staff_user,
                                                             actor or staff_user, now), "assigned",
                         guard)

    def add_note(self, case: CaseRef, text: str, *, actor: str,
                 guard: transitions.StaffAction | None = None) -> EventView:
        """An internal note: staff surfaces only, never shown to the officer."""
        return self._event(case, lambda s, row, now: lc.add_note(s, row, text, actor, now), "note",
                           guard)

    def add_staff_reply(self, case: CaseRef, text: str, *, actor: str,
                        message_ts: str | None = None,
                        guard: transitions.StaffAction | None = None) -> EventView:
        """Record a staff reply posted into the officer's thread (needs_staff -> in_progress; the
        first one sets ``first_staff_response_at``; an unassigned case is assigned to the actor)."""
        data = {"message_ts": message_ts} if message_ts else None
        return self._event(case, lambda s, row, now: lc.add_staff_reply(s, row, text, actor, now,
                                                                        data), "staff reply",
                           guard)

    def _event(self, case: CaseRef, action: Callable, what: str,
               guard: transitions.StaffAction | None = None) -> EventView:
        case_id = self._case_id(case)

        def work(s: Session, now: datetime) -> EventView:
            row = lc.get_case_row(s, case_id, lock=True)
            if guard is not None:
                transitions.check(guard, row.status, format_ref(row.id))
            event = action(s, row, now)
            s.flush()
            return event_view(event)

        view = self._run(work)
        log.info("case %s: %s (event %s)", case_id, what, view.id)
        return view

    def resolve(self, case: CaseRef, *, actor: str, text: str | None = None,
                guard: transitions.StaffAction | None = None) -> CaseView:
        """-> resolved (idempotent without a guard). A new question in its thread reopens it."""
        return self._act(case, lambda s, row, now: lc.resolve(s, row, actor, now, text), "resolved",
                         guard)

    def reopen(self, case: CaseRef, *, actor: str, text: str | None = None,
               guard: transitions.StaffAction | None = None) -> CaseView:
        """resolved -> needs_staff by staff (no-op on an open case without a guard)."""
        return self._act(case, lambda s, row, now: lc.reopen(s, row, actor, now, text), "reopened",
                         guard)

    def set_municipality(self, case: CaseRef, municipality: str | None, *,
                         actor: str, guard: transitions.StaffAction | None = None) -> CaseView:
        return self._act(case, lambda s, row, now: lc.set_municipality(s, row, municipality,
                                                                       actor, now), "municipality",
                         guard)

    def transfer(self, case: CaseRef, team_id: str, team_name: str, *, actor: str,
                 text: str | None = None,
                 guard: transitions.StaffAction | None = None) -> CaseView:
        """Move the case to another staff team (``bot.cases.routing.transfer``): its card is
        forgotten (the workflow posts a new one in the new team's channel)."""
        from bot.cases.routing import transfer

        return self._act(case, lambda s, row, now: transfer(s, row, team_id, team_name, actor, now,
                                                            text), "transferred", guard)

    def route(self, case: CaseRef) -> CaseView:
        """Record the team of a case that needs staff but was not routed (e.g. escalated while
        no router was set); a no-op otherwise or without a router."""
        from bot.cases.routing import route_case

        def action(s, row, now):
            if row.status == "needs_staff":
                route_case(s, row, now)
        return self._act(case, action, "routed")

    # ---- team reads (bot.cases.team_queries) -----------------------------------------------
    def team_queue(self, team_ids: list[str], limit: int = 100, *,
                   include_unrouted: bool = False) -> list[CaseView]:
        """Open cases of these staff teams, needs_staff first, oldest waiting first."""
        from bot.cases import team_queries

        return self._run(lambda s, now: team_queries.team_queue(
            s, list(team_ids), limit, include_unrouted=include_unrouted))

    def open_counts_by_team(self) -> dict:
        """team id (None: not routed) -> {status: number of open cases}."""
        from bot.cases import team_queries

        return self._run(lambda s, now: team_queries.open_counts_by_team(s))

    def set_staff_message(self, case: CaseRef, channel: str, ts: str) -> CaseView:
        """Remember the staff-channel post of a case so it is updated in place (no event)."""
        def action(s, row, now):
            row.staff_channel, row.staff_message_ts = channel, ts
        return self._act(case, action, "staff message set")

    def get_staff_message(self, case: CaseRef) -> tuple[str, str] | None:
        """(channel, ts) of the case's staff-channel post, or None when not posted yet."""
        view = self.get_case(case)
        if view.staff_channel and view.staff_message_ts:
            return view.staff_channel, view.staff_message_ts
        return None
