"""Statistics of the consultations started in a period: the one computation behind the console's
集計 page and `consult cases stats` (both print the same numbers for the same period).

Each case counts once, in the week (Monday to Sunday, JST) it started, under one outcome:
- ``declined``: the bot could not answer at least one question (no basis in the documents, or an
  error);
- ``staff``: otherwise, it needed staff (the officer asked for a person, or gave 👎);
- ``bot``: otherwise — answered by the bot alone.
👍/👎 count the officers' ratings of the answers in those cases. Staff times run from the moment
the case started to need staff: to the first staff reply, to the first assignment, and to its
resolution (medians over the cases that have both moments).

It reads a few narrow columns of the period's cases (three grouped queries) and aggregates in
Python, so SQLite and PostgreSQL give exactly the same result.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import case as sql_case
from sqlalchemy import String, func, select, true, type_coerce
from sqlalchemy.orm import Session

from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import CaseStats, CaseStatus, EventKind, WeekStats
from bot.cases.workdays import JST

OUTCOMES: tuple[tuple[str, str], ...] = (
    ("bot", "ボットが回答"),
    ("declined", "ボットが回答できず"),
    ("staff", "職員対応が必要"),
)


def week_of(ts: datetime) -> date:
    """The Monday (JST) of the week ``ts`` falls in."""
    day = ts.astimezone(JST).date()
    return day - timedelta(days=day.weekday())


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _span(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _raw(column):
    """The column's value as the driver returns it (SQLite: text), without SQLAlchemy's
    per-value processing; ``_ts`` reads it."""
    return type_coerce(column, String())


def _ts(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def stats(s: Session, since: datetime | None, until: datetime | None) -> CaseStats:
    """Cases with ``since <= created_at < until`` (either bound may be None)."""
    period = []
    if since is not None:
        period.append(CaseRow.created_at >= since)
    if until is not None:
        period.append(CaseRow.created_at < until)
    conn = s.connection()   # Core rows, raw values, fetchall: 100,000 cases must not cost seconds
    cases = [
        (cid, status, municipality, _ts(created), _ts(escalated), _ts(replied), _ts(resolved))
        for cid, status, municipality, created, escalated, replied, resolved
        in conn.execute(select(
            CaseRow.id, CaseRow.status, CaseRow.municipality, _raw(CaseRow.created_at),
            _raw(CaseRow.escalated_at), _raw(CaseRow.first_staff_response_at),
            _raw(CaseRow.resolved_at),
        ).where(*period)).fetchall()
    ]
    by_programme = _programme_counts(conn, period)
    ids = select(CaseRow.id).where(*period).scalar_subquery() if period else None

    turns_stmt = select(
        TurnRow.case_id, func.count(),   # count(*): the covering index answers it alone
        func.sum(sql_case((TurnRow.answered.is_(True), 1), else_=0)),
        func.sum(sql_case((TurnRow.answered.is_(False), 1), else_=0)),
        func.sum(sql_case((TurnRow.feedback == "up", 1), else_=0)),
        func.sum(sql_case((TurnRow.feedback == "down", 1), else_=0)),
    ).group_by(TurnRow.case_id)
    events_stmt = select(EventRow.case_id, EventRow.kind, _raw(func.min(EventRow.created_at))).where(
        EventRow.kind.in_([EventKind.STAFF_REPLY.value, EventKind.ASSIGNED.value])
    ).group_by(EventRow.case_id, EventRow.kind)
    if ids is not None:
        turns_stmt = turns_stmt.where(TurnRow.case_id.in_(ids))
        events_stmt = events_stmt.where(EventRow.case_id.in_(ids))
    turns = {cid: (int(n), int(yes or 0), int(no or 0), int(up or 0), int(down or 0))
             for cid, n, yes, no, up, down in conn.execute(turns_stmt).fetchall()}
    staff_replied: set[int] = set()
    first_assign: dict[int, datetime] = {}
    for cid, kind, first in conn.execute(events_stmt).fetchall():
        if kind == EventKind.STAFF_REPLY.value:
            staff_replied.add(cid)
        else:
            first_assign[cid] = _ts(first)
    return _aggregate(cases, by_programme, turns, staff_replied, first_assign, since, until)


def _programme_counts(conn, period) -> dict[str, int]:
    """Cases per programme (a case names each of its programmes once), most first."""
    if conn.dialect.name == "postgresql":
        value = func.json_array_elements_text(CaseRow.programmes).table_valued("value").lateral()
        kind = func.json_typeof(CaseRow.programmes)
    else:
        value = func.json_each(CaseRow.programmes).table_valued("value")
        kind = func.json_type(CaseRow.programmes)
    rows = conn.execute(select(value.c.value, func.count()).select_from(CaseRow)
                        .join(value, true()).where(kind == "array", *period)
                        .group_by(value.c.value)).fetchall()
    return {name: int(n) for name, n in sorted(rows, key=lambda r: (-r[1], r[0])) if name}


def _aggregate(cases, by_programme, turns, staff_replied, first_assign, since, until) -> CaseStats:
    by_status = Counter({str(st): 0 for st in CaseStatus})
    by_municipality: Counter = Counter()
    outcomes = Counter({key: 0 for key, _ in OUTCOMES})
    weeks: dict[date, dict] = defaultdict(lambda: {
        "cases": 0, "bot": 0, "declined": 0, "staff": 0, "up": 0, "down": 0,
        "first_reply": [], "resolution": []})
    first_reply, take, resolution = [], [], []
    n_turns = up = down = bot_answered = 0
    for cid, status, municipality, created, escalated, replied, resolved in cases:
        n, answered_turns, declined_turns, c_up, c_down = turns.get(cid, (0, 0, 0, 0, 0))
        by_status[status] += 1
        by_municipality[municipality or ""] += 1
        outcome = "declined" if declined_turns else ("staff" if escalated else "bot")
        outcomes[outcome] += 1
        n_turns, up, down = n_turns + n, up + c_up, down + c_down
        if answered_turns and cid not in staff_replied:
            bot_answered += 1
        week = weeks[week_of(created)]
        week["cases"] += 1
        week[outcome] += 1
        week["up"] += c_up
        week["down"] += c_down
        if (span := _span(escalated, replied)) is not None:
            first_reply.append(span)
            week["first_reply"].append(span)
        if (span := _span(escalated, resolved)) is not None:
            resolution.append(span)
            week["resolution"].append(span)
        if (span := _span(escalated, first_assign.get(cid))) is not None:
            take.append(span)

    return CaseStats(
        total=len(cases),
        by_status=dict(by_status),
        by_municipality=dict(sorted(by_municipality.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_programme=by_programme,
        bot_answered=bot_answered,
        staff_answered=len(staff_replied),
        unanswered=len(cases) - bot_answered - len(staff_replied),
        turns=n_turns,
        feedback_up=up,
        feedback_down=down,
        median_staff_response_s=_median(first_reply),
        median_time_to_take_s=_median(take),
        median_resolution_s=_median(resolution),
        outcomes=dict(outcomes),
        weeks=_weeks(weeks, since, until),
        since=since,
        until=until,
    )


def _weeks(weeks: dict[date, dict], since: datetime | None, until: datetime | None):
    """Every week of the period in order, empty weeks included (a chart's axis has no gaps)."""
    if not weeks and (since is None or until is None):
        return ()
    first = week_of(since) if since is not None else min(weeks)
    last = week_of(until - timedelta(seconds=1)) if until is not None else max(weeks)
    if weeks:
        first, last = min(first, min(weeks)), max(last, max(weeks))
    out = []
    day = first
    while day <= last and len(out) < 600:
        w = weeks.get(day) or {"cases": 0, "bot": 0, "declined": 0, "staff": 0, "up": 0,
                               "down": 0, "first_reply": [], "resolution": []}
        out.append(WeekStats(
            week_start=day, cases=w["cases"], bot=w["bot"], declined=w["declined"],
            staff=w["staff"], feedback_up=w["up"], feedback_down=w["down"],
            median_staff_response_s=_median(w["first_reply"]),
            median_resolution_s=_median(w["resolution"])))
        day += timedelta(days=7)
    return tuple(out)
