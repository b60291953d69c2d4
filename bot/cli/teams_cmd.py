"""`consult cases transfer` and `consult cases teams`: staff teams on the command line.

Transfer goes through the one staff workflow like the Slack modal and the console form (the same
rule: the case's own team or an administrators' team; the same card move when a bot token is
configured), recorded under the local operator. `teams` lists the teams of the teams file (or the
one team made from the settings) with what they cover and their open cases.
"""

from __future__ import annotations

from typing import Optional

import typer

from bot.cli.cases_cmd import _actor, _store, _workflow, cases_app
from bot.cli.context import cli_context


def register(app: typer.Typer) -> None:
    """The commands join the `consult cases` group (registered by cases_cmd)."""
    cases_app.command("transfer")(transfer_cmd)
    cases_app.command("teams")(teams_cmd)


def transfer_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
                 team: str = typer.Argument(..., help="移管先のチーム（ID またはチーム名）"),
                 note: Optional[str] = typer.Option(None, "--note", help="移管の理由（内部用）")) -> None:
    """相談の担当チームを変更します（相談カードは移管先のチャンネルに移ります）。"""
    with _workflow(ctx) as workflow:
        typer.echo(workflow.transfer(_actor(ctx), ref, team, note).message)


def teams_cmd(ctx: typer.Context) -> None:
    """職員チームと担当する振興局・事業、対応中の相談の件数を表示します。"""
    from bot.teams import Teams

    settings = cli_context(ctx).settings
    teams = Teams.from_settings(settings)
    with _store(ctx) as store:
        counts = store.open_counts_by_team()
    if teams.single_team:
        typer.echo("チームは 1 つです（CONSULT_TEAMS_FILE を設定すると振興局ごとのチームに振り分けます）。")
    for team in teams:
        open_ = counts.get(team.id, {})
        marks = [m for m, on in (("管理者", team.administrators), ("既定", team.default),
                                 ("事業優先", team.programme_first)) if on]
        typer.echo(f"{team.id}\t{team.name}" + (f"［{'・'.join(marks)}］" if marks else ""))
        typer.echo(f"\t担当: {team.covers_text}　チャンネル: {team.channel or '-'}"
                   f"　職員対応待ち {open_.get('needs_staff', 0)} 件・対応中 {open_.get('in_progress', 0)} 件")
    unrouted = counts.get(None)
    if unrouted and not teams.single_team:
        typer.echo(f"（チーム未設定の相談: 職員対応待ち {unrouted.get('needs_staff', 0)} 件・"
                   f"対応中 {unrouted.get('in_progress', 0)} 件）")
