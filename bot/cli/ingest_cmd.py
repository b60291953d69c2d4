"""`consult ingest [PATH] [--rebuild] [--dry-run] [--json] [--prune-foreign]` and `consult index stats`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bot.cli.context import cli_context


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        ctx: typer.Context,
        path: Optional[Path] = typer.Argument(None, help="取り込むフォルダまたはファイル（省略時は資料フォルダ全体）"),
        rebuild: bool = typer.Option(False, "--rebuild", help="索引を作り直します"),
        dry_run: bool = typer.Option(False, "--dry-run", help="埋め込みを行わず、変更予定だけを表示します"),
        as_json: bool = typer.Option(False, "--json", help="結果を 1 つの JSON オブジェクトで出力します"),
        prune_foreign: bool = typer.Option(
            False, "--prune-foreign",
            help="共有の索引から、ほかの資料フォルダが入れた文書も削除します（通常は削除しません）"),
    ) -> None:
        """資料フォルダを取り込み、検索用の索引を更新します（変更のあった部分だけ）。"""
        from ingest.cli import ingest_command

        code = ingest_command(cli_context(ctx).settings, path, rebuild=rebuild, dry_run=dry_run,
                              as_json=as_json, prune_foreign=prune_foreign)
        raise typer.Exit(code)

    index_app = typer.Typer(help="索引の状態を確認します。", no_args_is_help=True)

    @index_app.command("stats")
    def stats(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="JSON で出力します"),
    ) -> None:
        """文書数、チャンク数、文書種別ごとの件数、埋め込みモデル、最終取り込み日時を表示します。"""
        from ingest.cli import stats_command

        raise typer.Exit(stats_command(cli_context(ctx).settings, as_json=as_json))

    app.add_typer(index_app, name="index")
