"""The staff part of App Home: the case queue (needs_staff first, then in_progress, oldest first)
with counts, and the 「職員用ページを開く」 button to the web console. `bot.slack.home` publishes
it for staff users.

With a teams file, one team's cases come first in each list: the member's own team unless they
picked another one (or all teams) in the team picker; the pick is kept in the view's
``private_metadata`` so the next App Home opening shows the same."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone

from bot.cases.views import CaseStatus
from bot.slack.staff import ids
from bot.slack.staff.card import case_buttons
from bot.slack.staff.cases import staff_case_from_view
from bot.slack.staff.model import (
    HOME_CASES_PER_GROUP, STATUS_LABELS, StaffCase, escape, reason_label, slack_date, truncate,
    user_ref,
)
from bot.slack.staff.parts import context, quote, section

QUEUE_LIMIT = 100


def _home_item(case: StaffCase) -> list[dict]:
    who = user_ref(case.requester_id, case.requester_name)
    place = escape(case.municipality) or "自治体未設定"
    line = f"*{escape(case.ref)}*　{STATUS_LABELS.get(case.status, escape(case.status))}　{place}　{who}"
    line += f"\n受付：{slack_date(case.created_at)}"
    if case.team_name:
        line += f"　チーム：{escape(case.team_name)}"
    if case.assignee:
        line += f"　担当：{user_ref(case.assignee)}"
    question = escape(truncate(case.question.strip().replace("\n", " "), 200))
    if question:
        line += f"\n{quote(question)}"
    label = reason_label(case.reason)
    if label:
        line += f"\n_{label}_"
    return [section(line), {"type": "actions", "block_id": f"staff_home_{case.case_id}",
                             "elements": case_buttons(case)}, {"type": "divider"}]


def _oldest_first(cases: list[StaffCase], first: frozenset[int] = frozenset()) -> list[StaffCase]:
    """Oldest waiting first; the cases in ``first`` (the member's team's) before the others."""
    far_future = datetime.max.replace(tzinfo=timezone.utc)

    def key(c: StaffCase):
        at = c.waiting_since or c.created_at
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return (c.case_id not in first, at or far_future, c.case_id)

    return sorted(cases, key=key)


def build_staff_home_view(needs_staff: list[StaffCase], in_progress: list[StaffCase],
                          *, user_id: str | None = None,
                          counts: Mapping[str, int] | None = None,
                          console_url: str | None = None, team: str | None = None,
                          team_cases: frozenset[int] = frozenset(),
                          team_counts: Mapping[str, int] | None = None,
                          own_team: bool = True,
                          team_choices: list[tuple[str, str]] | None = None,
                          picked: str | None = None) -> dict:
    """App Home for staff: the queue, needs_staff first then in_progress, oldest first.

    `counts` (status -> number of cases) gives the totals when the lists were cut by a limit;
    `console_url` adds the 「職員用ページを開く」 button (a sign-in link to the web console).
    With teams: `team` (the member's team name) and `team_cases` (its case ids) list that team's
    cases first in each group; `team_counts` are its totals; `own_team` False when it is not the
    member's. `team_choices` ((value, label) of each team and of all teams) adds the team picker,
    `picked` its current value."""
    waiting = _oldest_first(needs_staff, team_cases)
    working = _oldest_first(in_progress, team_cases)
    counts = counts or {}
    n_waiting = max(counts.get("needs_staff", 0), len(waiting))
    n_working = max(counts.get("in_progress", 0), len(working))
    mine = sum(1 for c in working if user_id and c.assignee == user_id)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "相談キュー（職員用）"}},
        section(f"職員対応待ち *{n_waiting}* 件　・　対応中 *{n_working}* 件"
                 f"（うちあなたの担当 {mine} 件）", "staff_home_counts"),
    ]
    if team:
        tc = team_counts or {}
        label = "あなたのチーム" if own_team else "表示中のチーム"
        blocks.append(section(f"{label}：*{escape(team)}*　職員対応待ち *{tc.get('needs_staff', 0)}* 件"
                              f"　・　対応中 *{tc.get('in_progress', 0)}* 件"
                              "（各一覧ではチームの相談を先に表示しています）", "staff_home_team"))
    elif team_choices:
        blocks.append(section("すべてのチームの相談を、待ち時間の長い順に表示しています。",
                              "staff_home_team"))
    if team_choices:
        blocks[-1]["accessory"] = team_picker(team_choices, picked)
    if console_url:
        blocks.append({"type": "actions", "block_id": "staff_home_console", "elements": [
            {"type": "button", "action_id": ids.OPEN_CONSOLE, "url": console_url,
             "text": {"type": "plain_text", "text": "職員用ページを開く"}, "style": "primary"}]})
        blocks.append(context("検索・絞り込み・集計・出力は職員用ページで行えます"
                              "（このボタンのリンクは一度だけ、短時間有効です）。"))
    blocks.append({"type": "divider"})
    for title, group, total in (("🔴 職員対応待ち", waiting, n_waiting),
                                ("🟡 対応中", working, n_working)):
        blocks.append({"type": "header", "text": {"type": "plain_text",
                                                  "text": f"{title}（{total} 件）"}})
        if not group:
            blocks.append(context("該当する相談はありません。"))
            continue
        shown = group[:HOME_CASES_PER_GROUP]
        for case in shown:
            blocks.extend(_home_item(case))
        if total > len(shown):
            blocks.append(context(f"ほか {total - len(shown)} 件あります。"
                                   "すべての相談は `consult cases list` でご確認いただけます。"))
    view = {"type": "home", "blocks": blocks}
    if team_choices:
        view["private_metadata"] = json.dumps({"team": picked})
    return view


def team_picker(choices: list[tuple[str, str]], picked: str | None) -> dict:
    options = [{"text": {"type": "plain_text", "text": label[:75]}, "value": value}
               for value, label in choices]
    select = {"type": "static_select", "action_id": ids.HOME_TEAM, "options": options,
              "placeholder": {"type": "plain_text", "text": "表示するチーム"}}
    current = next((o for o in options if o["value"] == picked), None)
    if current is not None:
        select["initial_option"] = current
    return select


def picked_team(view: dict | None) -> str | None:
    """The team picked on a published App Home (its ``private_metadata``), if any."""
    try:
        data = json.loads((view or {}).get("private_metadata") or "{}")
    except ValueError:
        return None
    value = data.get("team") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def build_staff_home(services, user_id: str, console_url: str | None = None,
                     picked: str | None = None) -> dict:
    """The staff queue as a `home` view (`views.publish`). The caller has checked staff.
    With a teams file, one team's open cases come first (read separately, so they are shown even
    when the whole queue is longer than the limit): ``picked`` (a team id, or
    ``ids.HOME_ALL_TEAMS`` for none), else the member's own team."""
    workflow = services.workflow
    queue = services.store.staff_queue(limit=QUEUE_LIMIT)
    views = list(queue.cases)
    team, team_ids, team_counts, choices, shown, own = None, frozenset(), None, None, None, None
    if workflow.multi_team:
        member_team = getattr(workflow.policy, "team_for_user", None)
        own = member_team(user_id) if member_team is not None else None
        if picked != ids.HOME_ALL_TEAMS:
            shown = workflow.teams.get(picked) or own
        picked = shown.id if shown is not None else ids.HOME_ALL_TEAMS
        choices = [(t.id, t.name + ("（自分のチーム）" if own is not None and t.id == own.id else ""))
                   for t in workflow.teams] + [(ids.HOME_ALL_TEAMS, "すべてのチーム")]
    if shown is not None:
        mine = services.store.team_queue([shown.id], limit=QUEUE_LIMIT,
                                         include_unrouted=shown.id == workflow.teams.default.id)
        team, team_ids = shown.name, frozenset(c.id for c in mine)
        team_counts = {st: sum(1 for c in mine if c.status == st) for st in ("needs_staff", "in_progress")}
        views = mine + [c for c in views if c.id not in team_ids]
    cases = [replace(staff_case_from_view(c), team_name=workflow.team_name(c)) for c in views]
    waiting = [c for c in cases if c.status == CaseStatus.NEEDS_STAFF]
    working = [c for c in cases if c.status == CaseStatus.IN_PROGRESS]
    return build_staff_home_view(waiting, working, user_id=user_id,
                                 counts={k: int(v) for k, v in queue.counts.items()},
                                 console_url=console_url, team=team, team_cases=team_ids,
                                 team_counts=team_counts, own_team=shown is own,
                                 team_choices=choices, picked=picked)
