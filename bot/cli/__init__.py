"""`consult` command line. The entry point stays tiny: each command group lives in its own
module with a `register(app)` function; settings are built once, lazily, in `CliContext`."""

from __future__ import annotations

import typer

from bot.cli.context import CliContext

app = typer.Typer(
    name="consult",
    help="北海道 市町村支援 相談アシスタント (Slack consultation assistant).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """北海道 市町村支援 相談アシスタントのコマンドです。"""
    ctx.obj = CliContext()


def _register_all() -> None:
    from bot.cli import (ask_cmd, cases_cmd, db_cmd, doctor, faq_cmd, ingest_cmd, report_cmd,
                         run_cmd, serve_cmd, stats_cmd, teams_cmd)

    for module in (run_cmd, ask_cmd, ingest_cmd, cases_cmd, stats_cmd, teams_cmd, db_cmd, faq_cmd,
                   report_cmd, serve_cmd, doctor):
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run typer; whatever escapes a command becomes one Japanese line on
    stderr and a non-zero exit (see `bot.cli.errors`), never a traceback."""
    from bot.cli.errors import exit_with

    try:
        app(args=argv, standalone_mode=True)
    except (Exception, KeyboardInterrupt) as exc:
        exit_with(exc)
