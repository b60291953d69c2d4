"""Japanese working days (JST), for "how long has this case waited for staff".

A working day is a weekday that is not a national holiday (``jpholiday``, which computes the
holidays of the 祝日法 including substitute holidays and 国民の休日) and not one of the year-end
closing days of government offices, 12/29–1/3 (行政機関の休日に関する法律 第1条).

A case is *overdue* when more than ``OVERDUE_WORKING_DAYS`` working days have passed since it
started to need staff: its deadline is the escalation time moved forward by that many working
days (a case escalated on Friday 15:00 is overdue from Tuesday 15:00; one escalated on a Saturday
counts from the next working day's morning).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import jpholiday

JST = timezone(timedelta(hours=9), "JST")
OVERDUE_WORKING_DAYS = 2


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return False
    return not jpholiday.is_holiday(day)


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` moved forward by ``days`` working days (JST). A start outside working days
    counts from 00:00 of the next working day."""
    local = start.astimezone(JST)
    day = local.date()
    if not is_working_day(day):
        while not is_working_day(day):
            day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), JST)
    moved = 0
    while moved < days:
        day += timedelta(days=1)
        if is_working_day(day):
            moved += 1
    return datetime.combine(day, local.timetz())


def overdue_since(escalated_at: datetime) -> datetime:
    return add_working_days(escalated_at, OVERDUE_WORKING_DAYS)


def is_overdue(escalated_at: datetime | None, now: datetime) -> bool:
    return escalated_at is not None and now >= overdue_since(escalated_at)


def age_text(since: datetime | None, now: datetime) -> str:
    """A short Japanese age: 「35 分」「5 時間」「3 日」."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} 分"
    if seconds < 86400:
        return f"{seconds // 3600} 時間"
    return f"{seconds // 86400} 日"
