"""The team-aware staff policy: staff read every case, act on their own team's cases; a team
marked ``administrators`` acts on all. One rule for Slack, the web console and the CLI, because
all three ask the one workflow (``bot.cases.workflow``), which asks this policy.

- A person is staff when they belong to a team: listed in its ``users`` or a member of its
  channel (``conversations.members``, cached for a minute per channel; a failing lookup counts as
  "not a member", logged — fail closed), or when they are the local operator.
- The team that owns a case is the one recorded on it (routed when it first needed staff, or
  transferred since); a case not routed yet belongs to the team ``Teams.route`` gives it now.
- The local operator (``CONSULT_LOCAL_OPERATOR``, default ``cli:<login>``) who is not in any
  team acts on every case: they run the product and can read its database anyway. Listed in a
  team, they follow that team's rule like anyone else.

Without a teams file there is one team (the staff channel and ``CONSULT_STAFF_USERS``) that acts
on everything: exactly ``DefaultStaffPolicy``'s behaviour (tests/teams/test_single_team.py).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.cases.policy import MEMBERS_TTL_SECONDS, _TTLCache
from bot.cases.views import CaseView
from bot.teams import Route, Team, Teams

log = logging.getLogger(__name__)


class TeamStaffPolicy:
    def __init__(self, teams: Teams, *, client: Any = None, local_operator: str | None = None,
                 ttl: float = MEMBERS_TTL_SECONDS) -> None:
        self.teams = teams
        self.client = client
        self.local_operator = local_operator
        self._cache = _TTLCache(ttl)

    @classmethod
    def from_settings(cls, settings, client: Any = None, teams: Teams | None = None):
        return cls(teams or Teams.from_settings(settings), client=client,
                   local_operator=settings.local_operator_id)

    def clear_cache(self) -> None:
        self._cache.clear()

    # ---- membership -------------------------------------------------------------------------
    def channel_members(self, channel: str | None) -> frozenset[str]:
        """Members of a team channel (cached). Raises the client's error when Slack refuses."""
        if not channel or self.client is None:
            return frozenset()
        cached = self._cache.get(channel)
        if cached is not None:
            return cached
        members: set[str] = set()
        cursor: str | None = None
        while True:
            resp = self.client.conversations_members(channel=channel, cursor=cursor, limit=200)
            members.update(resp.get("members") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        result = frozenset(members)
        self._cache.put(channel, result)
        return result

    def _members(self, channel: str | None) -> frozenset[str]:
        try:
            return self.channel_members(channel)
        except Exception as exc:  # SlackApiError, a network error: fail closed, loudly
            response = getattr(exc, "response", None)
            reason = response.get("error") if response is not None else type(exc).__name__
            log.error("team channel membership lookup failed (%s); treating user as non-member",
                      reason)
            return frozenset()

    def teams_of(self, user_id: str | None) -> tuple[Team, ...]:
        """The teams a person belongs to (listed first, then by channel membership)."""
        if not user_id:
            return ()
        listed = [t for t in self.teams if user_id in t.users]
        others = [t for t in self.teams if t not in listed and t.channel
                  and user_id in self._members(t.channel)]
        return tuple(listed + others)

    def _is_operator(self, user_id: str | None) -> bool:
        return bool(self.local_operator and user_id == self.local_operator)

    # ---- the StaffPolicy interface ----------------------------------------------------------
    def is_staff(self, user_id: str | None) -> bool:
        if not user_id:
            return False
        if self._is_operator(user_id) or any(user_id in t.users for t in self.teams):
            return True
        return bool(self.teams_of(user_id))

    def can_read(self, user_id: str | None, case: CaseView) -> bool:
        return self.is_staff(user_id)

    def can_act(self, user_id: str | None, case: CaseView) -> bool:
        if not user_id:
            return False
        mine = self.teams_of(user_id)
        if not mine:
            return self._is_operator(user_id)
        if any(t.administrators for t in mine):
            return True
        return self.owner(case).id in {t.id for t in mine}

    def known_staff(self) -> list[str]:
        people: set[str] = set()
        for team in self.teams:
            people |= team.users | self._members(team.channel)
        return sorted(people)

    def refusal(self, user_id: str | None, case: CaseView) -> str | None:
        """Why a staff member may not act on ``case`` (None when they are not staff at all: the
        workflow then uses its generic wording)."""
        if not self.is_staff(user_id):
            return None
        owner = self.owner(case)
        return (f"申し訳ありません。{case.ref} は「{owner.name}」の担当のため、操作できません"
                "（閲覧はできます）。担当チームの職員、または管理者のチームの職員が対応します。"
                "担当チームの変更が必要な場合は、担当チームにご相談ください。")

    # ---- ownership --------------------------------------------------------------------------
    def owner(self, case: CaseView) -> Team:
        if case.team and self.teams.get(case.team):
            return self.teams.get(case.team)
        return self.route(case).team

    def route(self, case: CaseView) -> Route:
        return self.teams.route(case.municipality, case.programmes)

    def team_for_user(self, user_id: str | None) -> Team | None:
        """The team shown first to a staff member (their first team)."""
        mine = self.teams_of(user_id)
        return mine[0] if mine else None
