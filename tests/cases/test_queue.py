"""The staff queue on SQLite and PostgreSQL: tabs with counts, filters, Japanese search over text
without spaces (trigram indexes), the short-term fallback, orders, paging, working-day ages."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.cases.queue import PAGE_SIZE, QueueFilter
from bot.cases.store import CaseStore

from .report_data import JST, Clock, seed


@pytest.fixture
def seeded(db_settings):
    clock = Clock()
    store = CaseStore.from_settings(db_settings, clock=clock)
    data = seed(store, clock)
    yield data
    store.close()


def refs(page) -> list[int]:
    return [r.case.id for r in page.rows]


def q(seeded, **kw):
    me = kw.pop("me", None)
    return seeded.store.queue(QueueFilter(**kw), me=me)


def test_tabs_counts_and_orders(seeded):
    ids = seeded.ids
    page = q(seeded)
    assert page.filter.tab == "needs_staff"
    assert page.counts == {"needs_staff": 2, "in_progress": 1, "answered": 1, "resolved": 1,
                           "all": 5}
    assert refs(page) == [ids["k2"], ids["k5"]]          # oldest waiting first
    assert refs(q(seeded, tab="all")) == [ids["k5"], ids["k4"], ids["k3"], ids["k2"], ids["k1"]]
    assert refs(q(seeded, tab="in_progress")) == [ids["k3"]]
    assert refs(q(seeded, tab="resolved")) == [ids["k4"]]
    row = q(seeded, tab="in_progress").rows[0]
    assert row.thumbs_down and row.case.assignee == "U_STAFF1"
    assert row.case.programmes == ("地域づくり総合交付金",)


@pytest.mark.parametrize("term, keys", [
    ("協力隊", {"k1"}),                    # inside a word, no spaces around it
    ("定住支援", {"k1"}),
    ("移住定住促進", {"k1"}),              # only in the answer
    ("交付金 申請期限", {"k3"}),            # every term must occur
    ("交付金　申請期限", {"k3"}),           # full-width space separates terms too
    ("dx人材", {"k4"}),                     # ASCII case ignored
    ("返礼品の基準", {"k2"}),
    ("資料には該当する記載", {"k2", "k5"}),  # the decline text of the answers
    ("存在しない語句", set()),
    ("100%", set()),                        # % is literal
])
def test_search_on_text_without_spaces(seeded, term, keys):
    page = q(seeded, tab="all", q=term)
    assert set(refs(page)) == {seeded.ids[k] for k in keys}
    assert page.counts["all"] == len(keys)
    assert page.notices == ()


def test_short_terms_search_titles(seeded):
    page = q(seeded, tab="all", q="除雪")
    assert refs(page) == [seeded.ids["k5"]]
    assert page.notices and "「除雪」" in page.notices[0] and "件名（最初の質問）だけ" in page.notices[0]
    # "起業" appears only in k1's answer: a two-character term does not search answers
    assert refs(q(seeded, tab="all", q="起業")) == []
    # a short term next to a long one narrows the long one's hits
    assert refs(q(seeded, tab="all", q="協力隊 定住")) == [seeded.ids["k1"]]
    assert refs(q(seeded, tab="all", q="協力隊 除雪")) == []
    assert refs(q(seeded, tab="all", q="dx")) == [seeded.ids["k4"]]      # ASCII case ignored


def test_filters_combine(seeded):
    ids = seeded.ids
    assert set(refs(q(seeded, tab="all", municipality="函館市"))) == {ids["k3"], ids["k4"]}
    assert refs(q(seeded, tab="all", municipality="-")) == [ids["k5"]]   # 未設定
    assert refs(q(seeded, tab="all", assignee="me", me="U_STAFF1")) == [ids["k3"]]
    assert refs(q(seeded, tab="all", assignee="me")) == []               # nobody signed in
    assert set(refs(q(seeded, tab="all", assignee="none"))) == {ids["k1"], ids["k2"], ids["k5"]}
    assert refs(q(seeded, tab="all", assignee="U_STAFF2")) == [ids["k4"]]
    assert set(refs(q(seeded, tab="all", programme="地域づくり総合交付金"))) == {ids["k3"]}
    assert refs(q(seeded, tab="all", programme="地域おこし協力隊")) == [ids["k1"]]
    assert set(refs(q(seeded, tab="all", reason="not_answered"))) == {ids["k2"], ids["k5"]}
    # k3 is in progress now; it needed staff because of a 👎, which the filter remembers
    assert refs(q(seeded, tab="all", reason="negative_feedback")) == [ids["k3"]]
    # k4 is resolved (its current reason is cleared) but was escalated on request
    assert refs(q(seeded, tab="all", reason="requested")) == [ids["k4"]]
    assert refs(q(seeded, tab="all", thumbs_down=True)) == [ids["k3"]]
    both = q(seeded, municipality="函館市", thumbs_down=True, q="交付金")
    assert both.counts == {"needs_staff": 0, "in_progress": 1, "answered": 0, "resolved": 0,
                           "all": 1}
    assert refs(both) == []                               # the needs_staff tab is empty


def test_period_filter_uses_jst_days(seeded, db_settings):
    ids = seeded.ids
    seeded.clock.set(datetime(2026, 11, 6, 23, 30, tzinfo=JST))   # Friday late evening JST
    late, _ = _ask_one(seeded, "k6", "補助金の交付決定はいつ頃ですか")
    everything = set(ids.values())
    assert set(refs(q(seeded, tab="all", since=date(2026, 11, 2), until=date(2026, 11, 2)))) \
        == everything
    assert refs(q(seeded, tab="all", since=date(2026, 11, 6))) == [late]
    assert refs(q(seeded, tab="all", until=date(2026, 11, 5), q="交付決定")) == []
    assert refs(q(seeded, tab="all", since=date(2026, 11, 3), until=date(2026, 11, 6))) == [late]


def _ask_one(seeded, key, question):
    from .report_data import answer, ask
    return ask(seeded.store, key, question, answer("交付決定は申請後 1 か月程度です。", None))


def test_working_day_age_and_overdue(seeded):
    ids = seeded.ids
    # k2 escalated Monday 11-02 ~09:10 JST; 11-03 is a holiday, so 2 working days end Thursday
    seeded.clock.set(datetime(2026, 11, 4, 10, 0, tzinfo=JST))
    rows = {r.case.id: r for r in q(seeded).rows}
    assert not rows[ids["k2"]].overdue and rows[ids["k2"]].age == "2 日"
    seeded.clock.set(datetime(2026, 11, 5, 10, 0, tzinfo=JST))
    rows = {r.case.id: r for r in q(seeded).rows}
    assert rows[ids["k2"]].overdue and not rows[ids["k5"]].overdue   # k5 waits since 16:45
    seeded.clock.set(datetime(2026, 11, 5, 17, 0, tzinfo=JST))
    assert all(r.overdue for r in q(seeded).rows)
    # a case staff already replied to is not overdue, however old
    assert not q(seeded, tab="in_progress").rows[0].overdue
    # answered / resolved cases have no waiting age
    assert q(seeded, tab="resolved").rows[0].age == ""


def test_paging_50_rows(db_settings):
    clock = Clock()
    store = CaseStore.from_settings(db_settings, clock=clock)
    try:
        data = seed(store, clock, extra_answered=PAGE_SIZE + 3)
        first = store.queue(QueueFilter(tab="answered"))
        assert first.total == PAGE_SIZE + 4 and first.pages == 2 and len(first.rows) == PAGE_SIZE
        assert (first.first_index, first.last_index) == (1, PAGE_SIZE)
        second = store.queue(QueueFilter(tab="answered", page=2))
        assert len(second.rows) == 4 and second.rows[-1].case.id == data.ids["k1"]
        assert not {r.case.id for r in first.rows} & {r.case.id for r in second.rows}
        beyond = store.queue(QueueFilter(tab="answered", page=99))
        assert beyond.page == 2 and refs(beyond) == refs(second)
        searched = store.queue(QueueFilter(tab="answered", q="対象経費", page=2))
        assert searched.total == PAGE_SIZE + 3 and len(searched.rows) == 3
    finally:
        store.close()


def test_filter_options(seeded):
    options = seeded.store.queue_options()
    assert options.municipalities == ("函館市", "旭川市", "札幌市") or \
        set(options.municipalities) == {"函館市", "旭川市", "札幌市"}
    assert options.assignees == ("U_STAFF1", "U_STAFF2")
    assert set(options.programmes) == {"地域おこし協力隊", "地域づくり総合交付金", "DX人材の派遣"}


def test_search_index_follows_updates_and_deletes(seeded):
    """The SQLite FTS tables are kept in sync by triggers (PostgreSQL indexes the columns)."""
    from sqlalchemy import text

    store, ids = seeded.store, seeded.ids
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE consult_turns SET answer = :a WHERE case_id = :c"),
                     {"a": "差し替えた回答：特別交付税の措置があります。", "c": ids["k1"]})
    assert refs(q(seeded, tab="all", q="特別交付税")) == [ids["k1"]]
    assert refs(q(seeded, tab="all", q="移住定住促進")) == []
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM consult_events WHERE case_id = :c"), {"c": ids["k1"]})
        conn.execute(text("DELETE FROM consult_turns WHERE case_id = :c"), {"c": ids["k1"]})
    assert refs(q(seeded, tab="all", q="特別交付税")) == []


@pytest.mark.parametrize("params, expected, n_errors", [
    ({}, QueueFilter(), 0),
    ({"tab": "all", "q": " 協力隊 ", "page": "3"}, QueueFilter(tab="all", q="協力隊", page=3), 0),
    ({"tab": "bogus", "page": "x"}, QueueFilter(), 2),
    ({"since": "2026-12-01", "until": "2026-11-01"},
     QueueFilter(since=date(2026, 11, 1), until=date(2026, 12, 1)), 1),
    ({"since": "2026-13-01", "reason": "nope", "thumbs_down": "1"},
     QueueFilter(thumbs_down=True), 2),
])
def test_filter_from_params(params, expected, n_errors):
    f, errors = QueueFilter.from_params(params)
    assert f == expected and len(errors) == n_errors
    assert all(e.endswith("。") for e in errors)


def test_filter_round_trips_through_params():
    f = QueueFilter(tab="resolved", municipality="旭川市", assignee="me", programme="地域おこし協力隊",
                    reason="requested", thumbs_down=True, since=date(2026, 4, 1),
                    until=date(2027, 3, 31), q="協力隊 定住", page=2)
    assert QueueFilter.from_params(f.to_params()) == (f, ())
    assert f.to_params(tab="all")["tab"] == "all" and "page" not in f.to_params(tab="all")
    assert f.to_params(page=3)["page"] == "3"
    assert QueueFilter().to_params() == {}


def test_subprefecture_filter_and_counts_under_it(seeded):
    ids = seeded.ids
    page = q(seeded, tab="all", subprefecture="渡島総合振興局")
    assert set(refs(page)) == {ids["k3"], ids["k4"]}       # 函館市
    assert page.counts == {"needs_staff": 0, "in_progress": 1, "answered": 0, "resolved": 1,
                           "all": 2}
    assert refs(q(seeded, tab="all", subprefecture="上川総合振興局")) == [ids["k1"]]
    searched = q(seeded, tab="all", subprefecture="渡島総合振興局", q="申請期限")
    assert refs(searched) == [ids["k3"]] and searched.counts["all"] == 1
    assert q(seeded, tab="all", subprefecture="宗谷総合振興局").counts["all"] == 0


def test_team_filter_and_the_default_team_owns_unrouted_cases(seeded):
    from sqlalchemy import text

    ids, store = seeded.ids, seeded.store
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE consult_cases SET team = 'oshima' WHERE id IN (:a, :b)"),
                     {"a": ids["k3"], "b": ids["k4"]})
        conn.execute(text("UPDATE consult_cases SET team = 'honcho' WHERE id = :a"), {"a": ids["k2"]})
    oshima = q(seeded, tab="all", team="oshima")
    assert set(refs(oshima)) == {ids["k3"], ids["k4"]} and oshima.counts["all"] == 2
    honcho = q(seeded, tab="all", team="honcho")
    assert refs(honcho) == [ids["k2"]]
    as_default = q(seeded, tab="all", team="honcho", team_includes_unrouted=True)
    assert set(refs(as_default)) == {ids["k1"], ids["k2"], ids["k5"]}
    assert as_default.counts == {"needs_staff": 2, "in_progress": 0, "answered": 1, "resolved": 0,
                                 "all": 3}
    assert store.export_ids(QueueFilter(tab="all", team="oshima")) == [ids["k3"], ids["k4"]]


def test_team_and_subprefecture_parameters():
    from bot.teams_file import parse_teams
    from tests.teams.conftest import TEAMS_YAML

    teams = parse_teams(TEAMS_YAML, "teams.yml")
    f, errors = QueueFilter.from_params({"team": "honcho", "subprefecture": "オホーツク"},
                                        teams=teams)
    assert errors == () and f.team == "honcho" and f.team_includes_unrouted
    assert f.subprefecture == "オホーツク総合振興局"
    assert f.to_params() == {"team": "honcho", "subprefecture": "オホーツク"}
    assert QueueFilter.from_params(f.to_params(), teams=teams) == (f, ())
    soya, _ = QueueFilter.from_params({"team": "soya", "subprefecture": "桧山"}, teams=teams)
    assert (soya.team, soya.team_includes_unrouted, soya.subprefecture) == ("soya", False, "檜山振興局")
    bad, errors = QueueFilter.from_params({"team": "nope", "subprefecture": "東京"}, teams=teams)
    assert (bad.team, bad.subprefecture) == (None, None)
    assert errors == ("チーム「nope」は見つからないため、条件から外しました。",
                      "振興局「東京」は見つからないため、条件から外しました。")
    single, errors = QueueFilter.from_params({"team": "soya"})
    assert single.team is None and errors == ("チームの設定がないため、チームの条件は外しました。",)


@pytest.mark.parametrize("term, expected", [
    ("協力隊", True), ("令和６年度", True), ("100%", True), ("「金・人・情報」", True),
    ("dx人材", False), ("ＤＸ推進", False), ("Ä", False),
])
def test_terms_without_cased_letters_are_matched_exactly(term, expected):
    """PostgreSQL matches these with LIKE (no lower-casing of every candidate's text): only
    terms where ignoring case cannot change the result."""
    from bot.cases.search import caseless

    assert caseless(term) is expected
