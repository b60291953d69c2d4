"""`consult serve [--http] [--port N] [--no-web]`: run the Slack bot (and the staff console);
`consult web`: the staff console alone; `consult web login-link USER_ID`: a one-time sign-in link.

Socket Mode by default (SLACK_BOT_TOKEN + SLACK_APP_TOKEN; no public URL needed; the console on
CONSULT_WEB_HOST:CONSULT_WEB_PORT), HTTP mode with `--http` (SLACK_BOT_TOKEN +
SLACK_SIGNING_SECRET; POST /slack/events, /healthz and the console on one port). Missing settings
give one clear line and exit 1.
"""

from __future__ import annotations

from typing import Optional

import typer

from bot.cli.context import cli_context

web_app = typer.Typer(help="職員用ページ（Web コンソール）を起動・管理します。", invoke_without_command=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        http: bool = typer.Option(False, "--http",
                                  help="HTTP モードで /slack/events を受けます (HTTP mode)"),
        port: int | None = typer.Option(None, "--port",
                                        help="HTTP モードのポート (default: PORT or 3000)"),
        host: str = typer.Option("0.0.0.0", "--host", help="HTTP モードの待ち受けアドレス"),
        no_web: bool = typer.Option(False, "--no-web", help="職員用ページを起動しません"),
    ) -> None:
        """Slack ボットと職員用ページを起動します (Socket Mode, or HTTP mode with --http)."""
        from bot.slack.runner import check_slack_settings, serve as run_serve

        context = cli_context(ctx)
        if no_web:
            context.without_web()
        settings = context.settings
        check_slack_settings(settings, http=http)      # before building the (slow) services
        run_serve(settings, context.services, http=http, port=port or settings.http_port,
                  host=host, web=settings.web_enabled)

    app.add_typer(web_app, name="web")


@web_app.callback()
def web(ctx: typer.Context,
        host: Optional[str] = typer.Option(None, "--host", help="待ち受けアドレス (default: CONSULT_WEB_HOST)"),
        port: Optional[int] = typer.Option(None, "--port", help="ポート (default: CONSULT_WEB_PORT)")) -> None:
    """職員用ページだけを起動します（Slack ボットは起動しません）。"""
    if ctx.invoked_subcommand is not None:
        return
    from bot.slack.runner import serve_console

    context = cli_context(ctx)
    serve_console(context.settings, context.services, host=host, port=port)


@web_app.command("login-link")
def login_link_cmd(ctx: typer.Context,
                   user: str = typer.Argument(..., help="Slack ユーザー ID（例: U0123ABCD）")) -> None:
    """職員用ページへのログイン用リンク（一度だけ・短時間有効）を表示します。"""
    from bot.web.links import login_link

    settings = cli_context(ctx).settings
    typer.echo(login_link(settings, user.strip()))
    typer.echo(f"（{settings.web_login_link_minutes} 分間、一度だけ有効です。"
               "ユーザーが職員でない場合はログインできません。）", err=True)
