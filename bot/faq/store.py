"""Persistence of FAQ entries in the case database (one transaction per method, frozen views out).

    faq = FaqStore(case_store)
    entry = faq.create(actor="U1", question=..., answer=..., section=..., category=...)
    faq.change(entry.id, FaqAction.APPROVE, actor="U1")

The RULES (who may act, masking, warnings) live in ``bot.faq.service.FaqService``; the store
checks the transition table on the locked row, writes one audit event per change, and bumps
``consult_faq_state.revision`` in the same transaction whenever the set of approved entries (what
the index must hold) changes. ``record_citations`` runs inside the transaction that completes a
turn (``bot.cases.lifecycle.complete_turn``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.cases import lifecycle as lc
from bot.cases.models import EventRow, FaqCitationRow, FaqEntryRow, FaqEventRow, FaqStateRow
from bot.cases.views import EventKind
from bot.errors import ActionNotAllowed
from bot.faq.transitions import FaqAction, check
from bot.faq.views import (FaqCitationView, FaqEntryDetail, FaqEntryView, FaqEventKind,
                           FaqEventView, FaqList, FaqNotFound, FaqStatus, format_faq_ref)

EDITABLE = ("question", "answer", "section", "category")
_EVENT_OF = {FaqAction.EDIT: FaqEventKind.EDITED, FaqAction.APPROVE: FaqEventKind.APPROVED,
             FaqAction.REJECT: FaqEventKind.REJECTED, FaqAction.RETIRE: FaqEventKind.RETIRED}


def _view(row: FaqEntryRow, citations: int = 0) -> FaqEntryView:
    return FaqEntryView(
        id=row.id, status=row.status, question=row.question, answer=row.answer,
        section=row.section, category=row.category, case_id=row.case_id,
        source_event_id=row.source_event_id, created_by=row.created_by,
        created_at=row.created_at, updated_by=row.updated_by, updated_at=row.updated_at,
        approved_by=row.approved_by, approved_at=row.approved_at, retired_by=row.retired_by,
        retired_at=row.retired_at, citations=citations)


def _event_view(row: FaqEventRow) -> FaqEventView:
    data = row.data or {}
    return FaqEventView(id=row.id, entry_id=row.entry_id, kind=row.kind, actor=row.actor,
                        from_status=row.from_status, to_status=row.to_status, text=row.text,
                        changed=tuple(data.get("changed") or ()), created_at=row.created_at)


def _citation_counts(s: Session, ids: Sequence[int]) -> dict[int, int]:
    """entry id -> answers that cited it since its (latest) approval."""
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        stmt = (select(FaqCitationRow.entry_id, func.count(FaqCitationRow.id))
                .join(FaqEntryRow, FaqEntryRow.id == FaqCitationRow.entry_id)
                .where(FaqCitationRow.entry_id.in_(chunk),
                       FaqEntryRow.approved_at.is_not(None),
                       FaqCitationRow.created_at >= FaqEntryRow.approved_at)
                .group_by(FaqCitationRow.entry_id))
        out.update({entry_id: int(n) for entry_id, n in s.execute(stmt)})
    return out


def _get_row(s: Session, entry_id: int, *, lock: bool = False) -> FaqEntryRow:
    stmt = select(FaqEntryRow).where(FaqEntryRow.id == entry_id)
    if lock:
        stmt = stmt.with_for_update()
    row = s.scalars(stmt).first()
    if row is None:
        raise FaqNotFound(f"faq entry {entry_id} not found",
                          user_message=f"{format_faq_ref(entry_id)} は見つかりませんでした。")
    return row


def _add_event(s: Session, row: FaqEntryRow, kind: str, actor: str, now: datetime, *,
               from_status: str | None = None, to_status: str | None = None,
               text: str | None = None, changed: Iterable[str] = ()) -> None:
    changed = list(changed)
    s.add(FaqEventRow(entry_id=row.id, kind=str(kind), actor=(actor or "unknown")[:128],
                      from_status=from_status, to_status=to_status, text=text,
                      data={"changed": changed} if changed else None, created_at=now))


def _bump(s: Session, now: datetime) -> None:
    """The index must follow: one more revision, visible to every replica at commit."""
    result = s.execute(update(FaqStateRow).where(FaqStateRow.id == 1)
                       .values(revision=FaqStateRow.revision + 1, updated_at=now))
    if not result.rowcount:
        s.add(FaqStateRow(id=1, revision=1, updated_at=now))


class FaqStore:
    def __init__(self, cases) -> None:
        self.cases = cases   # the CaseStore: same engine, same transactions and error handling

    def _run(self, fn):
        return self.cases._run(fn)

    # ---- reads ------------------------------------------------------------------------------
    def get(self, entry_id: int) -> FaqEntryView:
        def work(s: Session, now: datetime) -> FaqEntryView:
            row = _get_row(s, entry_id)
            return _view(row, _citation_counts(s, [row.id]).get(row.id, 0))
        return self._run(work)

    def detail(self, entry_id: int, citations: int = 20) -> FaqEntryDetail:
        def work(s: Session, now: datetime) -> FaqEntryDetail:
            row = _get_row(s, entry_id)
            events = s.scalars(select(FaqEventRow).where(FaqEventRow.entry_id == row.id)
                               .order_by(FaqEventRow.id)).all()
            cited = []
            if row.approved_at is not None:
                cited = s.scalars(select(FaqCitationRow)
                                  .where(FaqCitationRow.entry_id == row.id,
                                         FaqCitationRow.created_at >= row.approved_at)
                                  .order_by(FaqCitationRow.id.desc()).limit(citations)).all()
            return FaqEntryDetail(
                entry=_view(row, _citation_counts(s, [row.id]).get(row.id, 0)),
                events=tuple(_event_view(e) for e in events),
                recent_citations=tuple(FaqCitationView(c.turn_id, c.case_id, c.created_at)
                                       for c in cited))
        return self._run(work)

    def list(self, status: str | None = None, limit: int | None = None) -> FaqList:
        def work(s: Session, now: datetime) -> FaqList:
            counts = {str(st): 0 for st in FaqStatus}
            for st, n in s.execute(select(FaqEntryRow.status, func.count()).group_by(FaqEntryRow.status)):
                counts[st] = int(n)
            stmt = select(FaqEntryRow)
            if status:
                stmt = stmt.where(FaqEntryRow.status == status)
            stmt = stmt.order_by(FaqEntryRow.updated_at.desc(), FaqEntryRow.id.desc())
            if limit:
                stmt = stmt.limit(limit)
            rows = list(s.scalars(stmt))
            cites = _citation_counts(s, [r.id for r in rows])
            return FaqList(tuple(_view(r, cites.get(r.id, 0)) for r in rows), counts)
        return self._run(work)

    def approved(self) -> list[FaqEntryView]:
        """Every approved entry, oldest first (what the index must hold)."""
        def work(s: Session, now: datetime) -> list[FaqEntryView]:
            rows = s.scalars(select(FaqEntryRow).where(FaqEntryRow.status == FaqStatus.APPROVED.value)
                             .order_by(FaqEntryRow.id)).all()
            return [_view(r) for r in rows]
        return self._run(work)

    def for_case(self, case_id: int) -> list[FaqEntryView]:
        """Entries written from a case's staff answers, oldest first."""
        def work(s: Session, now: datetime) -> list[FaqEntryView]:
            rows = s.scalars(select(FaqEntryRow).where(FaqEntryRow.case_id == case_id)
                             .order_by(FaqEntryRow.id)).all()
            return [_view(r) for r in rows]
        return self._run(work)

    def revision(self) -> int:
        """The change counter of the approved set (cheap: one row)."""
        def work(s: Session, now: datetime) -> int:
            value = s.scalar(select(FaqStateRow.revision).where(FaqStateRow.id == 1))
            return int(value or 0)
        return self._run(work)

    def find_from_source(self, case_id: int, event_id: int | None) -> FaqEntryView | None:
        """A draft or approved entry already written from this staff answer."""
        def work(s: Session, now: datetime):
            stmt = select(FaqEntryRow).where(
                FaqEntryRow.case_id == case_id,
                FaqEntryRow.status.in_([FaqStatus.DRAFT.value, FaqStatus.APPROVED.value]))
            stmt = stmt.where(FaqEntryRow.source_event_id == event_id) if event_id is not None \
                else stmt.where(FaqEntryRow.source_event_id.is_(None))
            row = s.scalars(stmt.order_by(FaqEntryRow.id.desc()).limit(1)).first()
            return row and _view(row)
        return self._run(work)

    def staff_reply(self, case_id: int, event_id: int | None):
        """(reply event, question of the officer's turn before it) of a case: the given staff
        reply, else the latest one; None when the case has no staff reply."""
        def work(s: Session, now: datetime):
            lc.get_case_row(s, case_id)
            stmt = select(EventRow).where(EventRow.case_id == case_id,
                                          EventRow.kind == EventKind.STAFF_REPLY.value)
            if event_id is not None:
                stmt = stmt.where(EventRow.id == event_id)
            event = s.scalars(stmt.order_by(EventRow.id.desc()).limit(1)).first()
            if event is None:
                return None
            from bot.cases.models import TurnRow

            turn = s.scalars(select(TurnRow).where(TurnRow.case_id == case_id,
                                                   TurnRow.created_at <= event.created_at)
                             .order_by(TurnRow.id.desc()).limit(1)).first()
            if turn is None:
                turn = s.scalars(select(TurnRow).where(TurnRow.case_id == case_id)
                                 .order_by(TurnRow.id).limit(1)).first()
            return event.id, event.text or "", turn.question if turn else "", \
                tuple(turn.sources or ()) if turn else ()
        return self._run(work)

    # ---- writes -----------------------------------------------------------------------------
    def create(self, *, actor: str, question: str, answer: str, section: str | None,
               category: str | None, case_id: int | None = None,
               source_event_id: int | None = None, approve: bool = False) -> FaqEntryView:
        def work(s: Session, now: datetime) -> FaqEntryView:
            if case_id is not None:
                lc.get_case_row(s, case_id)        # CaseNotFound with its polite message
            row = FaqEntryRow(status=FaqStatus.DRAFT.value, question=question, answer=answer,
                              section=section or None, category=category or None,
                              case_id=case_id, source_event_id=source_event_id,
                              created_by=actor[:128], created_at=now, updated_by=actor[:128],
                              updated_at=now)
            s.add(row)
            s.flush()
            _add_event(s, row, FaqEventKind.CREATED, actor, now, to_status=row.status)
            if approve:
                self._apply(s, row, FaqAction.APPROVE, actor, now, {}, None)
            return _view(row)
        return self._run(work)

    def change(self, entry_id: int, action: FaqAction, *, actor: str,
               fields: dict[str, str | None] | None = None,
               text: str | None = None) -> tuple[FaqEntryView, list[str]]:
        """Apply ``action`` (and, for an edit, the new ``fields``) on the locked row. Returns the
        entry and the fields that changed."""
        def work(s: Session, now: datetime):
            row = _get_row(s, entry_id, lock=True)
            changed = self._apply(s, row, action, actor, now, fields or {}, text)
            return _view(row, _citation_counts(s, [row.id]).get(row.id, 0)), changed
        return self._run(work)

    @staticmethod
    def _apply(s: Session, row: FaqEntryRow, action: FaqAction, actor: str, now: datetime,
               fields: dict, text: str | None) -> list[str]:
        target = check(action, row.status, format_faq_ref(row.id))
        changed = []
        for name in EDITABLE:
            if name in fields:
                value = fields[name] if fields[name] else (None if name in ("section", "category") else "")
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed.append(name)
        if action == FaqAction.EDIT and not changed and target == row.status:
            raise ActionNotAllowed("no change", user_message="変更された項目がないため、保存しませんでした。")
        before = row.status
        was_indexed = before == FaqStatus.APPROVED
        row.status = target.value
        row.updated_by, row.updated_at = actor[:128], now
        if action == FaqAction.APPROVE:
            row.approved_by, row.approved_at = actor[:128], now
        elif action == FaqAction.RETIRE:
            row.retired_by, row.retired_at = actor[:128], now
        _add_event(s, row, _EVENT_OF[action], actor, now, from_status=before,
                   to_status=row.status if row.status != before else None, text=text,
                   changed=changed)
        if was_indexed or row.status == FaqStatus.APPROVED:
            _bump(s, now)
        return changed
