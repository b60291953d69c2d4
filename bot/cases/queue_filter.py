"""Which cases staff look at: ``QueueFilter``, the one description shared by the console's queue,
its export and `consult cases export`, with the tabs and the reasons staff filter by.

It round-trips through URL query parameters (``from_params`` / ``to_params``) so a filtered queue
is a link that can be shared and the back button works. The SQL of each filter is in
``bot.cases.queue.conditions``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Mapping

from bot.cases.views import ESCALATION_SHORT_LABELS, CaseStatus, EscalationReason
from bot.cases.workdays import JST
from bot.directory import MunicipalityDirectory, short_subprefecture

PAGE_SIZE = 50
TABS: tuple[tuple[str, str], ...] = (
    ("needs_staff", "職員対応待ち"),
    ("in_progress", "対応中"),
    ("answered", "回答済み"),
    ("resolved", "解決済み"),
    ("all", "すべて"),
)
TAB_LABELS = dict(TABS)
ASSIGNEE_ME, ASSIGNEE_NONE = "me", "none"
# The reasons staff filter by (EscalationReason.STAFF, a staff reopening, is not one of them),
# with the short labels of the one vocabulary (views.ESCALATION_SHORT_LABELS).
REASONS: tuple[tuple[str, str], ...] = tuple(
    (r.value, ESCALATION_SHORT_LABELS[r]) for r in (
        EscalationReason.REQUESTED, EscalationReason.NEGATIVE_FEEDBACK,
        EscalationReason.NOT_ANSWERED, EscalationReason.BOT_ERROR))
REASON_LABELS = dict(REASONS)
OPEN_STATUSES = (CaseStatus.NEEDS_STAFF.value, CaseStatus.IN_PROGRESS.value)


def _clean(value: str) -> str:
    """A query parameter without control characters (NUL cannot even be stored)."""
    return "".join(ch for ch in value if ch >= " " or ch in "\t").strip()


@dataclass(frozen=True)
class QueueFilter:
    tab: str = "needs_staff"
    municipality: str | None = None
    assignee: str | None = None          # "me", "none" or a staff user id
    programme: str | None = None
    reason: str | None = None            # an EscalationReason value (see REASONS)
    thumbs_down: bool = False            # only cases with a 👎 turn
    since: date | None = None            # cases started on or after this JST date
    until: date | None = None            # ... and on or before this JST date
    team: str | None = None              # a team id (bot.teams): cases routed to that team
    subprefecture: str | None = None     # a (総合)振興局 (official name): its municipalities' cases
    q: str = ""
    page: int = 1
    # Not in the URL: set by ``from_params`` when ``team`` is the default team, which also owns
    # the cases that were never routed (``Teams.owner(None)``; App Home's team queue does the same).
    team_includes_unrouted: bool = False

    # ---- URL query parameters ---------------------------------------------------------------
    @classmethod
    def from_params(cls, params: Mapping[str, str], *, teams=None,
                    directory: MunicipalityDirectory | None = None,
                    ) -> tuple["QueueFilter", tuple[str, ...]]:
        """Parse query parameters leniently: a value that cannot be read is dropped and
        explained (politely, in Japanese) in the returned messages. ``teams`` (``bot.teams.Teams``
        of a teams file; None: one team) checks the team filter."""
        errors: list[str] = []
        directory = directory or MunicipalityDirectory.bundled()

        def value_of(name: str, limit: int = 200) -> str | None:
            value = _clean(params.get(name) or "")
            return value[:limit] or None

        def day(name: str, label: str) -> date | None:
            value = value_of(name, 40)
            if value is None:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                errors.append(f"{label}「{value}」を日付として読み取れませんでした"
                              "（2026-12-01 の形式で入力してください）。")
                return None

        tab = value_of("tab") or cls.tab
        if tab not in TAB_LABELS:
            errors.append(f"表示するタブ「{tab}」は不明なため、職員対応待ちを表示しています。")
            tab = cls.tab
        reason = value_of("reason")
        if reason is not None and reason not in REASON_LABELS:
            errors.append(f"対応が必要な理由「{reason}」は不明なため、条件から外しました。")
            reason = None
        page_text = value_of("page", 12) or "1"
        try:
            page = max(1, int(page_text))
        except ValueError:
            errors.append(f"ページ番号「{page_text}」を読み取れなかったため、1 ページ目を表示しています。")
            page = 1
        since, until = day("since", "開始日"), day("until", "終了日")
        if since and until and since > until:
            errors.append("期間の開始日が終了日より後になっていたため、入れ替えました。")
            since, until = until, since
        team, team_default = value_of("team", 64), False
        if team is not None:
            known = teams.get(team) if teams is not None else None
            if known is None:
                errors.append(f"チーム「{team}」は見つからないため、条件から外しました。"
                              if teams is not None else
                              "チームの設定がないため、チームの条件は外しました。")
                team = None
            else:
                team_default = known.default
        subprefecture = value_of("subprefecture", 40)
        if subprefecture is not None:
            found = directory.subprefecture(subprefecture)
            if found is None:
                errors.append(f"振興局「{subprefecture}」は見つからないため、条件から外しました。")
            subprefecture = found.name if found else None
        return cls(
            tab=tab, municipality=value_of("municipality"), assignee=value_of("assignee"),
            programme=value_of("programme"), reason=reason,
            thumbs_down=(params.get("thumbs_down") or "") in ("1", "on", "true"),
            since=since, until=until, team=team, subprefecture=subprefecture,
            q=_clean(params.get("q") or "")[:400], page=page, team_includes_unrouted=team_default,
        ), tuple(errors)

    def to_params(self, **changes) -> dict[str, str]:
        """Query parameters of this filter (defaults left out), with ``changes`` applied;
        changing anything but the page goes back to page 1."""
        f = replace(self, **changes)
        if "page" not in changes and changes:
            f = replace(f, page=1)
        out = {
            "tab": f.tab if f.tab != QueueFilter.tab else None,
            "municipality": f.municipality, "assignee": f.assignee, "programme": f.programme,
            "reason": f.reason, "thumbs_down": "1" if f.thumbs_down else None,
            "team": f.team, "subprefecture": short_subprefecture(f.subprefecture or "") or None,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "q": f.q or None, "page": str(f.page) if f.page > 1 else None,
        }
        return {k: v for k, v in out.items() if v}

    @property
    def is_filtered(self) -> bool:
        """True when anything besides the tab and the page narrows the list."""
        return bool(self.municipality or self.assignee or self.programme or self.reason
                    or self.thumbs_down or self.since or self.until or self.team
                    or self.subprefecture or self.q)

    def period(self) -> tuple[datetime | None, datetime | None]:
        """[since 00:00 JST, the day after until 00:00 JST) as aware datetimes."""
        start = datetime.combine(self.since, time(0), JST) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time(0), JST) if self.until else None
        return start, end
