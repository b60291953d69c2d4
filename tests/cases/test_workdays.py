"""Japanese working days: weekends, national holidays (jpholiday), the year-end closing days."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.cases.workdays import JST, add_working_days, age_text, is_overdue, is_working_day


@pytest.mark.parametrize("day, working", [
    (date(2026, 11, 2), True),     # Monday
    (date(2026, 11, 3), False),    # 文化の日
    (date(2026, 11, 7), False),    # Saturday
    (date(2026, 5, 6), False),     # 振替休日
    (date(2026, 9, 22), False),    # 国民の休日 (between 敬老の日 and 秋分の日)
    (date(2026, 12, 28), True),    # the last working day of the year
    (date(2026, 12, 29), False),   # year-end closing of government offices
    (date(2027, 1, 4), True),
])
def test_working_days(day, working):
    assert is_working_day(day) is working


def test_add_working_days_skips_weekends_holidays_and_year_end():
    friday = datetime(2026, 11, 6, 15, 0, tzinfo=JST)
    assert add_working_days(friday, 2) == datetime(2026, 11, 10, 15, 0, tzinfo=JST)
    saturday = datetime(2026, 11, 7, 10, 0, tzinfo=JST)
    assert add_working_days(saturday, 2) == datetime(2026, 11, 11, 0, 0, tzinfo=JST)
    year_end = datetime(2026, 12, 28, 17, 0, tzinfo=JST)
    assert add_working_days(year_end, 2) == datetime(2027, 1, 5, 17, 0, tzinfo=JST)


def test_overdue_and_age():
    escalated = datetime(2026, 11, 6, 15, 0, tzinfo=JST)
    assert not is_overdue(escalated, datetime(2026, 11, 10, 14, 59, tzinfo=JST))
    assert is_overdue(escalated, datetime(2026, 11, 10, 15, 0, tzinfo=JST))
    assert not is_overdue(None, datetime(2030, 1, 1, tzinfo=JST))
    assert age_text(escalated, datetime(2026, 11, 6, 15, 0, 20, tzinfo=JST)) == "1 分"
    assert age_text(escalated, datetime(2026, 11, 6, 20, 0, tzinfo=JST)) == "5 時間"
    assert age_text(escalated, datetime(2026, 11, 9, 16, 0, tzinfo=JST)) == "3 日"
