"""Staff teams on the real store (SQLite and PostgreSQL): a case that needs staff is routed to
its municipality's 振興局 team, a programme team or the default team, in the same transaction;
the team-aware policy lets staff act on their own team's cases (administrators on all) and says
which team owns a case when it refuses; transfer moves a case and its card."""

from __future__ import annotations

import pytest

from bot.cases.team_policy import TeamStaffPolicy
from bot.cases.views import CaseStatus, EventKind
from bot.cases.workflow import StaffWorkflow
from bot.errors import ActionNotAllowed, InvalidInput, NotAuthorized
from bot.teams import Teams
from bot.teams_file import parse_teams
from tests.cases.test_workflow import RecordingNotifier
from tests.teams.conftest import (ADMIN, FURUSATO, FURUSATO_STAFF, OFFICER, SOYA_STAFF, TEAMS_YAML,
                                  TOKACHI_STAFF, add_case)


class MovingNotifier(RecordingNotifier):
    def case_moved(self, case, old_card, from_team, to_team):
        self.calls.append(("case_moved", case.id, old_card, from_team, to_team))


@pytest.fixture
def teams() -> Teams:
    return parse_teams(TEAMS_YAML)


@pytest.fixture
def flow(store, teams):
    store.router = teams.route          # what bot.services.build_workflow does with a teams file
    notifier = MovingNotifier()
    workflow = StaffWorkflow(store, TeamStaffPolicy(teams, local_operator="cli:op"), notifier)
    return workflow, notifier


def routed_events(store, case_id):
    return [e for e in store.case_detail(case_id).events if e.kind == EventKind.ROUTED]


def test_routing_by_municipality_programme_and_default(store, flow):
    by_town = add_case(store, "稚内市", thread="1")
    assert by_town.team is None                       # answered by the bot: not routed
    escalated = store.escalate(by_town.id, actor=OFFICER)
    assert escalated.team == "soya"
    [event] = routed_events(store, by_town.id)
    assert event.actor == "bot" and event.text == "宗谷総合振興局 地域創生課（稚内市 → 宗谷総合振興局）"

    furusato = add_case(store, "稚内市", section=FURUSATO, thread="2")
    view = store.record_feedback(case=furusato.id, user_id=OFFICER, value="down")   # 👎
    assert view.status == CaseStatus.NEEDS_STAFF and view.team == "furusato"

    declined = add_case(store, "帯広市", answered=False, thread="3")   # the bot declined
    assert declined.status == CaseStatus.NEEDS_STAFF and declined.team == "tokachi"

    nowhere = add_case(store, None, answered=False, thread="4")
    assert nowhere.team == "honcho"
    assert routed_events(store, nowhere.id)[0].text == "本庁 地域政策課（市町村が未設定のため既定のチーム）"
    assert "事業「ふるさと納税の活用に向けた支援」" in routed_events(store, furusato.id)[0].text

    # routed once: a second escalation keeps the team
    store.resolve(by_town.id, actor=SOYA_STAFF)
    store.escalate(by_town.id, actor=OFFICER)
    assert store.get_case(by_town.id).team == "soya" and len(routed_events(store, by_town.id)) == 1


def test_no_router_no_team_no_event(store):
    case = add_case(store, "稚内市", answered=False)
    assert case.status == CaseStatus.NEEDS_STAFF and case.team is None
    assert routed_events(store, case.id) == []


def test_staff_act_on_their_own_teams_cases_and_read_all(store, flow):
    workflow, _ = flow
    case = add_case(store, "稚内市", answered=False)
    assert case.team == "soya"
    with pytest.raises(NotAuthorized) as err:
        workflow.take(TOKACHI_STAFF, case.id)
    message = err.value.user_message
    assert f"{case.ref} は「宗谷総合振興局 地域創生課」の担当のため、操作できません" in message
    assert "閲覧はできます" in message
    assert workflow.case_detail(TOKACHI_STAFF, case.id).case.id == case.id    # reading is fine
    with pytest.raises(NotAuthorized) as err:
        workflow.note(FURUSATO_STAFF, case.id, "メモ")
    assert "宗谷総合振興局 地域創生課" in err.value.user_message
    assert workflow.take(SOYA_STAFF, case.id).case.assignee == SOYA_STAFF
    assert workflow.note(ADMIN, case.id, "管理者のメモ").event.actor == ADMIN       # administrators
    assert workflow.note("cli:op", case.id, "運用者のメモ").event.actor == "cli:op"  # the operator
    with pytest.raises(NotAuthorized) as err:
        workflow.note("W0STRANGER", case.id, "x")
    assert "担当職員の方のみ" in err.value.user_message                  # not staff at all


def test_an_unrouted_case_belongs_to_the_team_it_would_be_routed_to(store, teams):
    workflow = StaffWorkflow(store, TeamStaffPolicy(teams), RecordingNotifier())
    case = add_case(store, "帯広市")                    # answered, never needed staff
    assert case.team is None
    assert workflow.owner(case).id == "tokachi"
    assert workflow.can_act(TOKACHI_STAFF, case) and not workflow.can_act(SOYA_STAFF, case)


def test_transfer_moves_the_case_and_its_card(store, flow):
    workflow, notifier = flow
    case = add_case(store, "稚内市", answered=False)
    store.set_staff_message(case.id, "C0SOYA", "171.0001")      # its card in 宗谷's channel
    workflow.take(SOYA_STAFF, case.id)
    notifier.calls.clear()

    result = workflow.transfer(SOYA_STAFF, case.id, "tokachi", "帯広の案件でした 090-1234-5678")
    view = result.case
    assert view.team == "tokachi" and view.status == CaseStatus.NEEDS_STAFF and view.assignee is None
    assert (view.staff_channel, view.staff_message_ts) == (None, None)
    assert result.message == (f"{case.ref} の担当を「宗谷総合振興局 地域創生課」から"
                              "「十勝総合振興局 地域創生課」に移しました。")
    assert notifier.calls == [
        ("case_moved", case.id, ("C0SOYA", "171.0001"), "宗谷総合振興局 地域創生課",
         "十勝総合振興局 地域創生課"),
        ("case_changed", case.id, "transferred")]
    event = store.case_detail(case.id).events[-1]
    assert event.kind == EventKind.TRANSFERRED and event.actor == SOYA_STAFF
    assert (event.from_status, event.to_status) == ("in_progress", "needs_staff")
    assert "090-1234-5678" not in event.text                     # typed text is masked

    # now 十勝 acts, 宗谷 reads only
    with pytest.raises(NotAuthorized) as err:
        workflow.take(SOYA_STAFF, case.id)
    assert "十勝総合振興局 地域創生課" in err.value.user_message
    workflow.take(TOKACHI_STAFF, case.id)
    with pytest.raises(ActionNotAllowed) as err:
        workflow.transfer(TOKACHI_STAFF, case.id, "十勝総合振興局 地域創生課")
    assert "すでに「十勝総合振興局 地域創生課」の担当です" in err.value.user_message
    with pytest.raises(InvalidInput) as err:
        workflow.transfer(TOKACHI_STAFF, case.id, "kushiro")
    assert "見つかりませんでした" in err.value.user_message
    workflow.resolve(TOKACHI_STAFF, case.id)
    with pytest.raises(ActionNotAllowed) as err:
        workflow.transfer(ADMIN, case.id, "soya")
    assert "解決済みのため、担当チームを変更できません" in err.value.user_message


def test_transfer_needs_a_teams_file(store, make_settings):
    teams = Teams.single(make_settings(CONSULT_STAFF_USERS="U1"))
    workflow = StaffWorkflow(store, TeamStaffPolicy(teams), RecordingNotifier())
    case = add_case(store, "稚内市", answered=False)
    with pytest.raises(ActionNotAllowed) as err:
        workflow.transfer("U1", case.id, "default")
    assert "CONSULT_TEAMS_FILE" in err.value.user_message


def test_municipality_correction_normalises_and_suggests_the_team(store, flow):
    workflow, _ = flow
    case = add_case(store, None, answered=False)
    assert case.team == "honcho"
    result = workflow.set_municipality(ADMIN, case.id, "ﾜｯｶﾅｲ")
    assert result.case.municipality == "稚内市"
    assert "「宗谷総合振興局 地域創生課」の担当です" in result.message
    assert result.case.team == "honcho"                # correcting does not move the case
    with pytest.raises(InvalidInput) as err:
        workflow.set_municipality(ADMIN, case.id, "わっかなし")
    assert "もしかして「稚内市」" in err.value.user_message
    assert workflow.set_municipality(ADMIN, case.id, "").case.municipality is None
    events = [e for e in store.case_detail(case.id).events if e.kind == EventKind.MUNICIPALITY]
    assert [e.text for e in events] == ["稚内市", None]
