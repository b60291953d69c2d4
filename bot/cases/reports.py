"""Read-side reports of the case store for staff (mixed into ``CaseStore``; one transaction
each): the filtered queue, the 👎 list, statistics of a period, and export in batches.

The console's pages and `consult cases …` call these; the computations live in ``queue.py``,
``feedback.py``, ``stats.py`` and ``export.py``.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Iterator

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.cases import feedback, queries, queue, stats
from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import CaseDetail, CaseStats

OPTIONS_TTL_S = 600.0   # the menus change rarely; the programme list reads every case
STATS_TTL_S = 300.0     # statistics kept while nothing changed (a safety net beyond that check)
STATS_KEPT = 16         # periods remembered
EXPORT_BATCH = 200


class CaseReports:
    """Needs ``_run(fn, write=...)`` from the store (every method here only reads)."""

    _options_cache: tuple[float, queue.FilterOptions] | None = None
    _options_lock = threading.Lock()

    def queue(self, f: queue.QueueFilter, *, me: str | None = None) -> queue.QueuePage:
        """One page of the staff queue under ``f`` (``me``: the signed-in staff member's Slack
        user id, for the 「自分」 filter), with the count of every tab under the same filters."""
        return self._run(lambda s, now: queue.queue_page(s, f, me=me, now=now),
                         write=False)

    def queue_options(self) -> queue.FilterOptions:
        """Municipalities, assignees and programmes present in the cases, for the filter menus
        (cached for ten minutes: the programme list reads every case)."""
        cached = self._options_cache
        if cached is not None and time.monotonic() - cached[0] < OPTIONS_TTL_S:
            return cached[1]
        with self._options_lock:
            options = self._run(lambda s, now: queue.filter_options(s), write=False)
            self._options_cache = (time.monotonic(), options)
        return options

    def feedback_page(self, *, page: int = 1, pending_only: bool = False) -> feedback.FeedbackPage:
        """👎 turns, newest first, with whether staff followed up."""
        return self._run(lambda s, now: feedback.feedback_page(s, page=page,
                                                               pending_only=pending_only),
                         write=False)

    def stats(self, *, since: datetime | None = None, until: datetime | None = None) -> CaseStats:
        """Statistics of the cases started in [since, until) — the numbers of the console's
        集計 page and of `consult cases stats`.

        Computing them reads every case of the period (seconds over 100,000 cases on a busy
        machine), so a result is kept until anything changes: every change that moves a number
        adds an event or a turn (a new case, feedback, an escalation, a staff action, a
        municipality correction), so the newest event and turn ids are the check — two index
        lookups — with STATS_TTL_S as a safety net."""
        key = (since, until)
        memo: dict = self.__dict__.setdefault("_stats_cache", {})

        def work(s: Session, now: datetime) -> CaseStats:
            signature = (s.scalar(select(func.max(EventRow.id))), s.scalar(select(func.max(TurnRow.id))))
            cached = memo.get(key)
            if cached is not None and cached[0] == signature \
                    and time.monotonic() - cached[1] < STATS_TTL_S:
                return cached[2]
            result = stats.stats(s, since, until)
            with self._options_lock:
                if len(memo) >= STATS_KEPT:
                    memo.pop(next(iter(memo)))
                memo[key] = (signature, time.monotonic(), result)
            return result

        return self._run(work, write=False)

    def export_ids(self, f: queue.QueueFilter, *, me: str | None = None) -> list[int]:
        """Ids of the cases under ``f`` (its tab included), oldest first."""

        def work(s: Session, now: datetime) -> list[int]:
            where = queue.conditions(s.get_bind().dialect.name, f, me)
            tab = queue.tab_condition(f.tab)
            if tab is not None:
                where.append(tab)
            stmt = select(CaseRow.id).order_by(CaseRow.created_at, CaseRow.id)
            if where:
                stmt = stmt.where(and_(*where))
            return list(s.scalars(stmt))

        return self._run(work, write=False)

    def iter_export(self, f: queue.QueueFilter, *, me: str | None = None,
                    include_internal: bool = True) -> Iterator[CaseDetail]:
        """Every case under ``f`` with its turns and events, oldest first, read in batches (one
        short transaction each) so a large export never holds the database or the memory."""
        ids = self.export_ids(f, me=me)
        for start in range(0, len(ids), EXPORT_BATCH):
            chunk = ids[start:start + EXPORT_BATCH]
            yield from self._run(lambda s, now: queries.details_by_ids(s, chunk, include_internal),
                                 write=False)
