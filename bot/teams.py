"""Staff teams and the routing of cases to them.

    teams = Teams.from_settings(settings)        # the teams file, or one team from the settings
    route = teams.route("稚内市", ["地域づくり総合交付金"])
    route.team.name                              # -> "宗谷総合振興局 地域創生課"

A ``Team`` is a group of staff with its own Slack channel (where its case cards are posted), its
members (listed users + members of that channel), the (総合)振興局 whose municipalities it serves,
and the programmes it owns. One team is the default (cases nobody else takes); a team marked
``administrators`` may act on every case.

Routing (``Teams.route``) of a case that needs staff, first match wins:

1. a team with ``programme_first`` that owns one of the case's programmes (the programmes come
   from the sections its answers cited, ``bot.cases.programmes``);
2. the team covering the (総合)振興局 of the case's municipality (``bot.directory``);
3. any other team that owns one of the case's programmes;
4. the default team.

Without a teams file (``CONSULT_TEAMS_FILE`` unset) there is one team made from
``CONSULT_STAFF_CHANNEL`` and ``CONSULT_STAFF_USERS``; it is the default and acts on every case,
exactly like the product without teams (``Teams.single_team`` is True, nothing is recorded).
The file format and its validation live in ``bot.teams_file``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from bot.directory import MunicipalityDirectory
from bot.errors import InvalidInput

DEFAULT_TEAM_ID = "default"
DEFAULT_TEAM_NAME = "相談対応チーム"


@dataclass(frozen=True)
class Team:
    id: str                                   # short ascii id, recorded on cases: "soya"
    name: str                                 # "宗谷総合振興局 地域創生課"
    channel: str | None = None                # Slack channel of its case cards
    users: frozenset[str] = field(default_factory=frozenset)
    subprefectures: tuple[str, ...] = ()      # official names: ("宗谷総合振興局",)
    programmes: tuple[str, ...] = ()          # ("ふるさと納税",)
    administrators: bool = False              # may act on every case
    programme_first: bool = False             # its programmes win over the 振興局 routing
    default: bool = False                     # takes what no other team takes

    def owns_programme(self, programmes: Iterable[str]) -> str | None:
        """The first of ``programmes`` this team owns (a team's programme "ふるさと納税" owns the
        section programme "ふるさと納税の活用に向けた支援"), else None."""
        for programme in programmes:
            key = _key(programme)
            for own in self.programmes:
                own_key = _key(own)
                if own_key and (own_key in key or key in own_key) and key:
                    return programme
        return None

    @property
    def covers_text(self) -> str:
        """What it covers, for people: "宗谷総合振興局" / "事業: ふるさと納税" / "管理者"."""
        parts = list(self.subprefectures)
        if self.programmes:
            parts.append("事業: " + "、".join(self.programmes))
        return "、".join(parts) or ("すべての相談（既定のチーム）" if self.default else "—")


@dataclass(frozen=True)
class Route:
    team: Team
    by: str          # "programme" | "subprefecture" | "default"
    why: str         # Japanese, for the audit trail: "稚内市 → 宗谷総合振興局"


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").replace(" ", "").replace("　", "")


class Teams:
    def __init__(self, teams: Iterable[Team], *, single_team: bool = False,
                 directory: MunicipalityDirectory | None = None, source: str | None = None):
        self.teams: tuple[Team, ...] = tuple(teams)
        self.single_team = single_team
        self.source = source
        self.directory = directory or MunicipalityDirectory.bundled()
        self._by_id = {t.id: t for t in self.teams}
        defaults = [t for t in self.teams if t.default]
        if len(defaults) != 1:
            raise ValueError("exactly one default team is required")
        self.default = defaults[0]
        self._by_subprefecture = {sp: t for t in self.teams for sp in t.subprefectures}

    @classmethod
    def from_settings(cls, settings) -> "Teams":
        if getattr(settings, "teams_file", None):
            from bot.teams_file import load_teams

            return load_teams(settings.teams_file, settings)
        return cls.single(settings)

    @classmethod
    def single(cls, settings) -> "Teams":
        """The one team of a setup without a teams file."""
        return cls([settings_team(settings, administrators=True)], single_team=True)

    # ---- lookups ----------------------------------------------------------------------------
    def __iter__(self):
        return iter(self.teams)

    def __len__(self) -> int:
        return len(self.teams)

    def get(self, team_id: str | None) -> Team | None:
        return self._by_id.get(team_id or "")

    def owner(self, team_id: str | None) -> Team:
        """The team recorded on a case; the default team for none (or one no longer in the
        file)."""
        return self._by_id.get(team_id or "") or self.default

    def find(self, text: str | None) -> Team:
        """A team by its id or name as typed (console form, CLI, Slack modal); InvalidInput with
        the list of teams otherwise."""
        wanted = _key(text or "").lower()
        for team in self.teams:
            if wanted and wanted in (team.id.lower(), _key(team.name).lower()):
                return team
        names = "、".join(f"{t.name}（{t.id}）" for t in self.teams)
        raise InvalidInput(f"unknown team {text!r}", user_message=(
            f"チーム「{(text or '').strip()[:40]}」は見つかりませんでした。次のいずれかを指定してください：{names}"))

    def for_subprefecture(self, name: str | None) -> Team | None:
        return self._by_subprefecture.get(name or "")

    # ---- routing ----------------------------------------------------------------------------
    def route(self, municipality: str | None, programmes: Iterable[str] = ()) -> Route:
        programmes = [p for p in programmes if p]
        for team in self.teams:
            if team.programme_first and (p := team.owns_programme(programmes)):
                return Route(team, "programme", f"事業「{p}」")
        m = self.directory.get(municipality)
        if m is not None and (team := self.for_subprefecture(m.subprefecture)):
            return Route(team, "subprefecture", f"{m.name} → {m.subprefecture}")
        for team in self.teams:
            if not team.programme_first and (p := team.owns_programme(programmes)):
                return Route(team, "programme", f"事業「{p}」")
        why = "市町村が未設定のため" if not municipality else \
            f"{municipality}（{m.subprefecture}）を担当するチームがないため" if m is not None else \
            f"市町村「{municipality}」が北海道の市町村一覧にないため"
        return Route(self.default, "default", why + "既定のチーム")


def settings_team(settings, *, administrators: bool, default: bool = True) -> Team:
    """The team made from CONSULT_STAFF_CHANNEL and CONSULT_STAFF_USERS."""
    return Team(id=DEFAULT_TEAM_ID, name=DEFAULT_TEAM_NAME, channel=settings.staff_channel,
                users=frozenset(settings.staff_users), administrators=administrators,
                default=default)
