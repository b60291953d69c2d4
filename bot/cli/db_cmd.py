"""`consult db upgrade|status`: the case database's schema and the spool of turns written during
an outage."""

from __future__ import annotations

import typer

from bot.cli.cases_cmd import _store
from bot.cli.context import cli_context

db_app = typer.Typer(help="相談データベースを管理します。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade_cmd(ctx: typer.Context) -> None:
    """相談データベースを最新のスキーマに更新し、障害時に保留した記録を書き込みます。"""
    from bot.cases.spool import Spool

    settings = cli_context(ctx).settings
    with _store(ctx, upgrade=False) as store:
        revision = store.upgrade()
        typer.echo(f"相談データベースを最新の状態にしました（リビジョン {revision}、{store.dialect}）。")
        written = Spool.from_settings(settings).replay(store)
        if written:
            typer.echo(f"保留していた {written} 件の記録を書き込みました。")


@db_app.command("status")
def db_status_cmd(ctx: typer.Context) -> None:
    """相談データベースのスキーマの状態を表示します。"""
    from bot.cases.migrate import head_revision
    from bot.cases.spool import Spool

    settings = cli_context(ctx).settings
    with _store(ctx, upgrade=False) as store:
        current = store.current_revision()
        head = head_revision()
        typer.echo(f"接続先: {store.describe()}")
        typer.echo(f"現在のリビジョン: {current or '（未作成）'} / 最新: {head}")
        pending = Spool.from_settings(settings).pending_count()
        if pending:
            typer.echo(f"保留中の記録: {pending} 件（`consult db upgrade` で書き込みます）")
        if current != head:
            typer.echo("`consult db upgrade` を実行してください。")
            raise typer.Exit(1)
