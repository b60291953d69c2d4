"""`consult cases stats`: the same numbers as the console's 集計 page (one statistics computation
in the store). Joins the `consult cases` group registered by cases_cmd."""

from __future__ import annotations

import json
from typing import Optional

import typer

from bot.cli.cases_cmd import _since, _store, _until, cases_app


def register(app: typer.Typer) -> None:
    """The command joins the `consult cases` group (registered by cases_cmd)."""


@cases_app.command("stats")
def stats_cmd(ctx: typer.Context,
              since: Optional[str] = typer.Option(None, "--since", help="この日付以降に始まった相談"),
              until: Optional[str] = typer.Option(None, "--until", help="この日付までに始まった相談"),
              as_json: bool = typer.Option(False, "--json", help="JSON で出力")) -> None:
    """相談の集計（職員用ページの「集計」と同じ数値）: 週ごとの件数、状態・事業・市町村別、評価、職員の対応時間。"""
    from bot.cases.stats import OUTCOMES
    from bot.cases.views import STATUS_LABELS
    from bot.directory import group_by_subprefecture

    with _store(ctx) as store:
        st = store.stats(since=_since(since), until=_until(until))
    rate = st.feedback_up_rate
    regions = group_by_subprefecture(dict(st.by_municipality))
    if as_json:
        typer.echo(json.dumps(stats_json(st), ensure_ascii=False, indent=2))
        return
    typer.echo(f"相談件数: {st.total} 件（質問 {st.turns} 件）")
    typer.echo("内訳: " + "、".join(f"{label} {st.outcomes.get(key, 0)}" for key, label in OUTCOMES))
    typer.echo("状態別: " + "、".join(f"{STATUS_LABELS.get(k, k)} {v}" for k, v in st.by_status.items()))
    typer.echo("市町村別: " + ("、".join(f"{k or '未設定'} {v}" for k, v in st.by_municipality.items()) or "-"))
    typer.echo("振興局別: " + ("、".join(
        f"{r.name} {r.total}（" + "、".join(f"{m} {n}" for m, n in r.municipalities) + "）"
        for r in regions) or "-"))
    typer.echo("事業別: " + ("、".join(f"{k} {v}" for k, v in st.by_programme.items()) or "-"))
    typer.echo(f"回答者: ボットのみ {st.bot_answered} 件、職員 {st.staff_answered} 件、未回答 {st.unanswered} 件")
    typer.echo(f"評価: 👍 {st.feedback_up} / 👎 {st.feedback_down}（👍 の割合 {_percent(rate)}）")
    typer.echo(f"職員の初回回答までの時間（中央値）: {_duration(st.median_staff_response_s)}")
    typer.echo(f"職員が担当するまでの時間（中央値）: {_duration(st.median_time_to_take_s)}")
    typer.echo(f"解決までの時間（中央値）: {_duration(st.median_resolution_s)}")
    if st.weeks:
        typer.echo("週ごと（週の初めの月曜日: 件数 = ボットが回答 / 回答できず / 職員対応、👍 の割合）:")
        for w in st.weeks:
            typer.echo(f"  {w.week_start.isoformat()}: {w.cases} = {w.bot} / {w.declined} / {w.staff}、"
                       f"👍 {_percent(w.feedback_up_rate)}")


def stats_json(st) -> dict:
    """The JSON of `consult cases stats --json` (the console's 集計 page shows the same numbers)."""
    from bot.cases.export import iso
    from bot.directory import group_by_subprefecture

    return {
        "since": iso(st.since), "until": iso(st.until),
        "total": st.total, "by_status": dict(st.by_status),
        "by_municipality": dict(st.by_municipality), "by_programme": dict(st.by_programme),
        "by_subprefecture": {r.name: {"total": r.total, "municipalities": dict(r.municipalities)}
                             for r in group_by_subprefecture(dict(st.by_municipality))},
        "outcomes": dict(st.outcomes),
        "bot_answered": st.bot_answered, "staff_answered": st.staff_answered,
        "unanswered": st.unanswered, "turns": st.turns, "feedback_up": st.feedback_up,
        "feedback_down": st.feedback_down, "feedback_up_rate": st.feedback_up_rate,
        "median_staff_response_s": st.median_staff_response_s,
        "median_time_to_take_s": st.median_time_to_take_s,
        "median_resolution_s": st.median_resolution_s,
        "weeks": [{"week_start": w.week_start.isoformat(), "cases": w.cases, "bot": w.bot,
                   "declined": w.declined, "staff": w.staff, "feedback_up": w.feedback_up,
                   "feedback_down": w.feedback_down, "feedback_up_rate": w.feedback_up_rate,
                   "median_staff_response_s": w.median_staff_response_s,
                   "median_resolution_s": w.median_resolution_s} for w in st.weeks],
    }


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} 時間 {minutes} 分"
    if minutes:
        return f"{minutes} 分 {sec} 秒"
    return f"{sec} 秒"
