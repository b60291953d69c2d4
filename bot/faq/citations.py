"""Which FAQ entries an answer cited: written inside the transaction that completes the turn
(``bot.cases.lifecycle.complete_turn``), so the count on each entry is exact across replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases.models import FaqCitationRow, FaqEntryRow
from bot.domain import Passage
from bot.faq.index import entry_id_of_source


def record_citations(s: Session, case_id: int, turn_id: int, sources: Sequence[Passage],
                     now: datetime) -> int:
    """Remember the entries among an answer's sources. Returns how many were recorded."""
    ids = sorted({i for i in (entry_id_of_source(p.source) for p in sources) if i is not None})
    if not ids:
        return 0
    known = set(s.scalars(select(FaqEntryRow.id).where(FaqEntryRow.id.in_(ids))))
    existing = set(s.scalars(select(FaqCitationRow.entry_id).where(
        FaqCitationRow.turn_id == turn_id, FaqCitationRow.entry_id.in_(ids))))
    added = 0
    for entry_id in ids:
        if entry_id in known and entry_id not in existing:
            s.add(FaqCitationRow(entry_id=entry_id, turn_id=turn_id, case_id=case_id,
                                 created_at=now))
            added += 1
    return added
