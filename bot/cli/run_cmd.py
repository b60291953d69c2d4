"""`consult run`: what `make run` calls. Migrates the database, refreshes the index from the
knowledge dir (only what changed; by default only with the embedded Chroma — replicas sharing a
Chroma server leave ingesting to one host: CONSULT_INGEST_ON_START, `--ingest/--skip-ingest`),
then starts Slack (Socket Mode, or HTTP with --http) with the staff console, or, when Slack is not
configured, the staff console in the background (its URL and a login link for the local operator
are printed first) and the local console chat."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from bot.cli.context import cli_context
from bot.errors import ConfigError

NOT_CONFIGURED = (
    "Slack が設定されていないため、コンソールで相談を受け付けます"
    "（SLACK_BOT_TOKEN と SLACK_APP_TOKEN を設定すると Slack で動作します）。"
)


def _refresh_index(settings) -> None:
    from ingest.errors import IngestError
    from ingest.pipeline import run_ingest

    try:
        report = run_ingest(settings, progress=sys.stderr.isatty())
    except IngestError as exc:
        # Another ingest is running, or the Chroma server is down: answer from the index as it
        # is (or politely, until the server is back).
        print(f"索引の更新をスキップしました: {exc}", file=sys.stderr)
        return
    print(f"索引を確認しました: ファイル 新規 {report.files_new} / 変更 {report.files_changed}"
          f" / 変更なし {report.files_unchanged} / 削除 {report.files_removed}、"
          f"チャンク 追加 {report.chunks_added} / 削除 {report.chunks_deleted}"
          f"（合計 {report.chunks_total}、{report.elapsed_s:.1f} 秒）", file=sys.stderr)
    if report.failed:
        print("読み込めなかったファイルがあります（以前の内容は残しています）:", file=sys.stderr)
        for failure in report.failed:
            print(f"  ✗ {failure['path']}: {failure['error']}", file=sys.stderr)
    if report.skipped:
        print("取り込まなかったファイルがあります:", file=sys.stderr)
        for skipped in report.skipped:
            print(f"  ✗ {skipped['path']}: {skipped['error']}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        ctx: typer.Context,
        http: bool = typer.Option(False, "--http", help="HTTP モードで Slack イベントを受けます (HTTP mode)"),
        port: int | None = typer.Option(None, "--port", help="HTTP モードのポート (default: PORT or 3000)"),
        ingest: Optional[bool] = typer.Option(
            None, "--ingest/--skip-ingest",
            help="起動時に資料を取り込む／取り込まない（既定: CONSULT_INGEST_ON_START）"),
        no_web: bool = typer.Option(False, "--no-web", help="職員用ページを起動しません"),
    ) -> None:
        """索引を更新して起動します (refresh the index, then start Slack or the console chat)."""
        context = cli_context(ctx)
        if no_web:
            context.without_web()
        settings = context.settings
        if http and not settings.slack_http_ready:
            raise ConfigError("--http には SLACK_BOT_TOKEN と SLACK_SIGNING_SECRET の設定が必要です")
        if settings.ingests_on_start if ingest is None else ingest:
            _refresh_index(settings)
        slack_mode = http or settings.slack_socket_mode_ready
        if not slack_mode:
            context.quiet_logs_for_console()
        services = context.services
        if slack_mode:
            from bot.slack.runner import serve

            serve(settings, services, http=http, port=port or settings.http_port,
                  web=settings.web_enabled)
            return
        from bot.cli.ask_cmd import chat

        print(NOT_CONFIGURED, file=sys.stderr)
        server = _start_console(settings, services, not settings.web_enabled)
        try:
            chat(ctx, k=5)
        finally:
            if server is not None:
                server.stop()


def _start_console(settings, services, no_web: bool):
    """The staff console in the background while the console chat runs; prints its URL and a
    login link for the local operator (CONSULT_LOCAL_OPERATOR). A busy port costs the console,
    never the chat."""
    if no_web:
        return None
    from bot.slack.runner import start_web
    from bot.web.links import login_link

    try:
        server = start_web(settings, services)
    except OSError as exc:
        print(f"職員用ページを起動できませんでした（{settings.web_host}:{settings.web_port}: "
              f"{type(exc).__name__}）。CONSULT_WEB_PORT で別のポートを指定できます。", file=sys.stderr)
        return None
    base = settings.web_base_url if settings.web_base_url_raw else server.url
    link = login_link(settings.model_copy(update={"web_base_url_raw": base}),
                      settings.local_operator_id)
    print(f"職員用ページ: {base}/", file=sys.stderr)
    print(f"ログイン用リンク（{settings.local_operator_id} として、{settings.web_login_link_minutes} 分間・"
          f"一度だけ有効）: {link}", file=sys.stderr)
    return server
