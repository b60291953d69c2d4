"""集計 — statistics of the consultations started in a period, with charts drawn on the server
(``bot.web.charts``) and every chart's numbers as a table. The numbers come from the same
``CaseStore.stats`` as `consult cases stats`; the page shows the equivalent command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from bot.cases.stats import OUTCOMES
from bot.cases.views import STATUS_LABELS
from bot.cases.workdays import JST
from bot.directory import group_by_subprefecture
from bot.web import charts
from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("集計", "/stats", order=30)
PRESETS = (("4w", "直近 4 週間"), ("12w", "直近 12 週間"), ("26w", "直近 26 週間"),
           ("fy", "今年度"), ("lastfy", "昨年度"), ("all", "全期間"))
DEFAULT_PRESET = "12w"
TOP_MUNICIPALITIES = 20
SERIES = (charts.Series("bot", "ボットが回答", "#2f6db5", "solid"),
          charts.Series("declined", "ボットが回答できず", "#c26a1b", "hatch"),
          charts.Series("staff", "職員対応が必要", "#b3261e", "dots"))
UP_RATE = charts.Series("up", "👍 の割合", "#1e6b34", "solid")
FIRST_REPLY = charts.Series("reply", "初回回答まで", "#0b5cad", "solid")
RESOLUTION = charts.Series("resolve", "解決まで", "#8a5a00", "solid")


@dataclass(frozen=True)
class Period:
    preset: str | None          # a PRESETS key, or None for a custom period
    since: date | None          # inclusive, JST
    until: date | None          # inclusive, JST
    errors: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.since is None and self.until is None:
            return "全期間"
        return f"{self.since.isoformat() if self.since else '最初'} 〜 " \
               f"{self.until.isoformat() if self.until else '現在'}"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.since, time(0), JST) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), time(0), JST) if self.until else None
        return start, end

    @property
    def cli(self) -> str:
        parts = ["consult cases stats"]
        if self.since:
            parts.append(f"--since {self.since.isoformat()}")
        if self.until:
            parts.append(f"--until {self.until.isoformat()}")
        return " ".join(parts)


def fiscal_year_start(day: date) -> date:
    """Japanese fiscal years start on 1 April."""
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def resolve_period(params, today: date) -> Period:
    since_text, until_text = (params.get("since") or "").strip(), (params.get("until") or "").strip()
    if since_text or until_text:
        errors, since, until = [], None, None
        for label, text in (("開始日", since_text), ("終了日", until_text)):
            if not text:
                continue
            try:
                value = date.fromisoformat(text)
            except ValueError:
                errors.append(f"{label}「{text[:40]}」を日付として読み取れませんでした"
                              "（2026-12-01 の形式で入力してください）。")
                continue
            since, until = (value, until) if label == "開始日" else (since, value)
        if since and until and since > until:
            since, until = until, since
            errors.append("期間の開始日が終了日より後になっていたため、入れ替えました。")
        if since or until:
            return Period(None, since, until, tuple(errors))
        return _preset(DEFAULT_PRESET, today, tuple(errors))
    preset = params.get("period") or DEFAULT_PRESET
    if preset not in dict(PRESETS):
        return _preset(DEFAULT_PRESET, today, (f"期間「{preset[:40]}」は不明なため、直近 12 週間を表示しています。",))
    return _preset(preset, today)


def _preset(key: str, today: date, errors: tuple[str, ...] = ()) -> Period:
    monday = today - timedelta(days=today.weekday())
    if key.endswith("w"):
        weeks = int(key[:-1])
        return Period(key, monday - timedelta(weeks=weeks - 1), today, errors)
    if key == "fy":
        return Period(key, fiscal_year_start(today), today, errors)
    if key == "lastfy":
        start = fiscal_year_start(today)
        return Period(key, date(start.year - 1, 4, 1), start - timedelta(days=1), errors)
    return Period("all", None, None, errors)


def duration(seconds: float | None) -> str:
    """「3.5 時間」「2.1 日」「25 分」; "—" when there is no value."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} 分"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} 時間"
    return f"{seconds / 86400:.1f} 日"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def build_charts(st) -> dict:
    weeks = st.weeks
    labels = [f"{w.week_start.month}/{w.week_start.day:02d}" for w in weeks]
    hours = lambda v: None if v is None else v / 3600  # noqa: E731
    top = list(st.by_municipality.items())[:TOP_MUNICIPALITIES]
    regions = group_by_subprefecture(dict(st.by_municipality))
    return {
        "weekly": charts.stacked_columns(labels, [(w.bot, w.declined, w.staff) for w in weeks],
                                         SERIES, title="週ごとの相談件数"),
        "up_rate": charts.line(labels, [(UP_RATE, [w.feedback_up_rate for w in weeks])],
                               title="👍 の割合（週ごと）", ymax=1.0),
        "staff_time": charts.line(
            labels, [(FIRST_REPLY, [hours(w.median_staff_response_s) for w in weeks]),
                     (RESOLUTION, [hours(w.median_resolution_s) for w in weeks])],
            title="職員対応にかかった時間（中央値、時間）", fmt=lambda v: f"{v:.0f} 時間"),
        "programmes": charts.horizontal_bars(list(st.by_programme.items()), title="事業別の相談件数"),
        "municipalities": charts.horizontal_bars(top, title=f"市町村別の相談件数（上位 {TOP_MUNICIPALITIES}）"),
        "top_municipalities": top,
        "regions": regions,
        "subprefectures": charts.horizontal_bars([(r.name, r.total) for r in regions],
                                                 title="振興局別の相談件数"),
    }


@router.get("/stats")
async def dashboard(request: Request, staff: Staff = Depends(require_staff)):
    today = datetime.now(JST).date()
    period = resolve_period(request.query_params, today)
    since, until = period.bounds()
    st = await run_in_threadpool(request.app.state.services.store.stats, since=since, until=until)
    return render(request, "dashboard.html", st=st, period=period, presets=PRESETS,
                  outcomes=OUTCOMES, status_labels=STATUS_LABELS, series=SERIES,
                  charts=build_charts(st), duration=duration, percent=percent)
