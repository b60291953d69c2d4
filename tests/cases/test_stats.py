"""Statistics of a period (the console's 集計 and `consult cases stats`) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from typer.testing import CliRunner

from bot.cases.store import CaseStore
from bot.cli import app
from bot.cli.stats_cmd import stats_json

from .report_data import JST, Clock, answer, ask, seed


@pytest.fixture
def seeded(db_settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(db_settings.data_dir))
    if db_settings.database_url:
        monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    clock = Clock()
    store = CaseStore.from_settings(db_settings, clock=clock)
    data = seed(store, clock)
    yield data
    store.close()


def test_numbers_of_the_seeded_week(seeded):
    st = seeded.store.stats()
    assert (st.total, st.turns) == (5, 5)
    assert st.outcomes == {"bot": 1, "declined": 2, "staff": 2}
    assert st.by_status == {"answered": 1, "needs_staff": 2, "in_progress": 1, "resolved": 1}
    assert st.by_municipality == {"函館市": 2, "旭川市": 1, "札幌市": 1, "": 1}
    assert st.by_programme == {"地域おこし協力隊": 1, "地域づくり総合交付金": 1, "DX人材の派遣": 1}
    assert (st.bot_answered, st.staff_answered, st.unanswered) == (2, 1, 2)
    assert (st.feedback_up, st.feedback_down, st.feedback_up_rate) == (1, 1, 0.5)
    assert st.median_staff_response_s == 7200          # 👎 at +0 -> staff reply 2 h later
    assert st.median_time_to_take_s == 5400            # 1 h (k3) and 2 h (k4)
    assert st.median_resolution_s == 18000             # k4: 5 h from the request
    assert len(st.weeks) == 1
    week = st.weeks[0]
    assert week.week_start == date(2026, 11, 2)
    assert (week.cases, week.bot, week.declined, week.staff) == (5, 1, 2, 2)
    assert (week.feedback_up, week.feedback_down, week.median_staff_response_s) == (1, 1, 7200)


def test_period_bounds_and_empty_weeks(seeded):
    seeded.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    ask(seeded.store, "late", "地域おこし協力隊の任期は何年ですか", answer("最長 3 年です。", None))
    since = datetime(2026, 11, 1, tzinfo=JST).astimezone(timezone.utc)
    until = datetime(2026, 12, 1, tzinfo=JST).astimezone(timezone.utc)
    st = seeded.store.stats(since=since, until=until)
    assert st.total == 6
    assert [w.week_start for w in st.weeks] == [date(2026, 10, 26), date(2026, 11, 2),
                                               date(2026, 11, 9), date(2026, 11, 16),
                                               date(2026, 11, 23), date(2026, 11, 30)]
    assert [w.cases for w in st.weeks] == [0, 5, 0, 0, 1, 0]
    later = seeded.store.stats(since=datetime(2026, 11, 20, tzinfo=JST))
    assert later.total == 1 and later.outcomes == {"bot": 1, "declined": 0, "staff": 0}
    assert later.median_staff_response_s is None
    nothing = seeded.store.stats(since=datetime(2027, 1, 1, tzinfo=JST))
    assert nothing.total == 0 and nothing.weeks == () and nothing.feedback_up_rate is None


def test_cli_prints_the_same_numbers(seeded):
    runner = CliRunner()
    result = runner.invoke(app, ["cases", "stats", "--json", "--since", "2026-11-01",
                                 "--until", "2026-11-30"])
    assert result.exit_code == 0, result.output
    since = datetime(2026, 11, 1, tzinfo=JST)
    until = datetime(2026, 12, 1, tzinfo=JST)
    expected = stats_json(seeded.store.stats(since=since, until=until))
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))
    text = runner.invoke(app, ["cases", "stats", "--since", "2026-11-01"]).stdout
    assert "内訳: ボットが回答 1、ボットが回答できず 2、職員対応が必要 2" in text
    assert "解決までの時間（中央値）: 5 時間 0 分" in text
    assert "2026-11-02: 5 = 1 / 2 / 2、👍 50%" in text
    bad = runner.invoke(app, ["cases", "stats", "--until", "来週"])
    assert bad.exit_code == 2 and "来週" in bad.output


def test_statistics_are_kept_until_something_changes(seeded):
    """The store keeps a period's statistics while no event or turn was added; every change
    that moves a number adds one, so the next call computes them again."""
    store, ids = seeded.store, seeded.ids
    first = store.stats()
    assert store.stats() is first                                   # nothing changed: kept
    store.escalate(ids["k1"], actor="U100")                         # an event
    escalated = store.stats()
    assert escalated is not first
    assert escalated.by_status["needs_staff"] == first.by_status["needs_staff"] + 1
    _, turn = ask(store, "k9", "新しい質問です", answer("回答です。", None), municipality="旭川市")
    asked = store.stats()                                           # a turn (and a new case)
    assert asked.total == first.total + 1 and asked.turns == first.turns + 1
    store.record_feedback(turn, user_id="U100", value="down")
    assert store.stats().feedback_down == asked.feedback_down + 1
