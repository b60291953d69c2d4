"""`consult serve [--http] [--port N]`: run the Slack bot.

Socket Mode by default (SLACK_BOT_TOKEN + SLACK_APP_TOKEN; no public URL needed), HTTP mode with
`--http` (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET; serves POST /slack/events for events,
interactivity and slash commands). Missing settings give one clear line and exit 1.
"""

from __future__ import annotations

import typer

from bot.cli.context import cli_context


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        http: bool = typer.Option(False, "--http",
                                  help="HTTP モードで /slack/events を受けます (HTTP mode)"),
        port: int | None = typer.Option(None, "--port",
                                        help="HTTP モードのポート (default: PORT or 3000)"),
        host: str = typer.Option("0.0.0.0", "--host", help="HTTP モードの待ち受けアドレス"),
    ) -> None:
        """Slack ボットを起動します (Socket Mode, or HTTP mode with --http)."""
        from bot.slack.runner import check_slack_settings, serve as run_serve

        context = cli_context(ctx)
        settings = context.settings
        check_slack_settings(settings, http=http)      # before building the (slow) services
        run_serve(settings, context.services, http=http, port=port or settings.http_port,
                  host=host)
