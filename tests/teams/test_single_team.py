"""Without a teams file nothing changes: the team-aware policy with its one team (the staff
channel and CONSULT_STAFF_USERS) decides exactly like the default policy, the same workflow
script gives the same results and events, and no team is recorded. (The existing staff tests in
tests/slack, tests/web and tests/cases run on this setup unchanged.)"""

from __future__ import annotations

import itertools

import pytest

from bot.cases.policy import DefaultStaffPolicy
from bot.cases.store import CaseStore
from bot.cases.team_policy import TeamStaffPolicy
from bot.cases.workflow import StaffWorkflow
from bot.errors import ConsultError
from bot.services import build_workflow
from bot.slack.client import make_client
from bot.teams import Teams
from tests.cases.test_workflow import RecordingNotifier
from tests.standins.slack_api import SlackApiStandIn
from tests.teams.conftest import add_case

LEAD, MEMBER, OUTSIDER, OPERATOR = "U0LEAD", "U0MEMBER", "W0OUTSIDE", "cli:operator"


@pytest.fixture
def slack():
    with SlackApiStandIn() as stand_in:
        stand_in.set_members("C0STAFF", [MEMBER, "UBOT"])
        yield stand_in


def settings_of(make_settings, slack, **extra):
    return make_settings(SLACK_BOT_TOKEN="xoxb-t", SLACK_API_URL=slack.url,
                         CONSULT_STAFF_CHANNEL="C0STAFF", CONSULT_STAFF_USERS=LEAD,
                         CONSULT_LOCAL_OPERATOR=OPERATOR, **extra)


def test_the_one_team_policy_decides_like_the_default_policy(make_settings, slack, tmp_path):
    settings = settings_of(make_settings, slack)
    client = make_client(settings)
    default = DefaultStaffPolicy.from_settings(settings, client)
    teams = TeamStaffPolicy.from_settings(settings, client)
    assert teams.teams.single_team
    store = CaseStore.from_url(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    cases = [add_case(store, m, answered=a, thread=str(i))
             for i, (m, a) in enumerate(itertools.product(["稚内市", None, "東京"], [True, False]))]
    for user in (LEAD, MEMBER, OUTSIDER, OPERATOR, "UBOT", None, ""):
        assert teams.is_staff(user) == default.is_staff(user), user
        for case in cases:
            assert teams.can_read(user, case) == default.can_read(user, case), (user, case.ref)
            assert teams.can_act(user, case) == default.can_act(user, case), (user, case.ref)
    assert teams.known_staff() == default.known_staff()
    # a failing membership lookup fails closed the same way
    for policy in (default, teams):
        policy.clear_cache()
    slack.fail("conversations.members", times=2, error="internal_error")
    assert teams.is_staff(MEMBER) == default.is_staff(MEMBER) is False
    store.close()


def script(workflow: StaffWorkflow, store) -> list:
    """A day's work on three cases, refusals included; returns everything observable."""
    out = []
    a = add_case(store, "稚内市", answered=False, thread="a")
    b = add_case(store, "帯広市", thread="b")
    store.escalate(b.id, actor="W0OFFICER")
    for step in (lambda: workflow.take(MEMBER, a.id), lambda: workflow.note(LEAD, a.id, "確認中"),
                 lambda: workflow.take(OUTSIDER, b.id), lambda: workflow.reply(LEAD, b.id, "回答です"),
                 lambda: workflow.set_municipality(MEMBER, b.id, "十勝郡浦幌町"),
                 lambda: workflow.resolve(MEMBER, a.id), lambda: workflow.take(LEAD, a.id),
                 lambda: workflow.reopen(OPERATOR, a.id),
                 lambda: workflow.set_municipality(MEMBER, a.id, "わっかなし")):
        try:
            result = step()
            out.append(("ok", result.message, result.case.status, result.case.assignee))
        except ConsultError as exc:
            out.append((type(exc).__name__, exc.user_message))
    for case in (a, b):
        detail = store.case_detail(case.id)
        out.append(tuple((e.kind, e.actor, e.from_status, e.to_status, e.text)
                         for e in detail.events))
        out.append((detail.case.status, detail.case.assignee, detail.case.municipality,
                    detail.case.team))
    return out


def test_the_same_script_gives_the_same_results(make_settings, slack, tmp_path):
    settings = settings_of(make_settings, slack)
    client = make_client(settings)
    runs = []
    for name, policy in (("default", DefaultStaffPolicy.from_settings(settings, client)),
                         ("teams", TeamStaffPolicy.from_settings(settings, client))):
        store = CaseStore.from_url(f"sqlite:///{tmp_path / (name + '.sqlite3')}")
        notifier = RecordingNotifier()
        runs.append((script(StaffWorkflow(store, policy, notifier), store), notifier.calls))
        store.close()
    assert runs[0] == runs[1]
    outcome, calls = runs[1]
    assert outcome[2][0] == "NotAuthorized" and outcome[6][0] == "ActionNotAllowed"
    assert outcome[-1][3] is None and outcome[-3][3] is None      # no team recorded


def test_build_workflow_without_a_teams_file(make_settings, slack, tmp_path):
    settings = settings_of(make_settings, slack)
    store = CaseStore.from_settings(settings)
    workflow = build_workflow(settings, store)
    assert isinstance(workflow.policy, TeamStaffPolicy) and workflow.teams.single_team
    assert store.router is None and not workflow.multi_team
    case = add_case(store, "稚内市", answered=False)
    assert workflow.card_channel(case) == "C0STAFF" and workflow.team_name(case) is None
    store.close()


def test_build_workflow_with_a_teams_file(make_settings, slack, teams_file):
    settings = settings_of(make_settings, slack, CONSULT_TEAMS_FILE=str(teams_file))
    store = CaseStore.from_settings(settings)
    workflow = build_workflow(settings, store)
    assert workflow.multi_team and store.router is not None
    case = add_case(store, "稚内市", answered=False)
    assert case.team == "soya"
    assert workflow.card_channel(case) == "C0SOYA"
    assert workflow.team_name(case) == "宗谷総合振興局 地域創生課"
    assert isinstance(workflow.teams, Teams)
    store.close()
