"""`consult report gaps [--since DATE] [--json]`: the knowledge-gap report (``bot.faq.gaps``) —
questions the bot declined, that got 👎, or after which the officer asked for staff, grouped
into topics, largest first.

`--json` prints ``{"since", "topics": [{"label", "count", "questions", "municipalities",
"nearest_section", "covered_by_faq"}]}`` (``since``: a JST date, default 90 days ago).
"""

from __future__ import annotations

import json
from typing import Optional

import typer

from bot.cli.context import cli_context
from bot.errors import ConsultError

report_app = typer.Typer(help="運用のためのレポートを出力します。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


def build_reporter(settings, store):
    """The gap reporter of a CLI run: the embedding cache of the data dir, and the index when
    there is one (nearest section, FAQ coverage)."""
    from bot.answering.retriever import HybridRetriever
    from bot.faq.gaps import GapReporter
    from bot.faq.similar import SimilarCases

    return GapReporter(store, SimilarCases.from_settings(settings, store),
                       HybridRetriever.from_settings(settings))


@report_app.command("gaps")
def gaps_cmd(ctx: typer.Context,
             since: Optional[str] = typer.Option(None, "--since",
                                                 help="この日付以降の質問（例: 2026-04-01。既定は 90 日前）"),
             as_json: bool = typer.Option(False, "--json", help="JSON で出力")) -> None:
    """資料で答えられなかった質問を話題ごとにまとめます（件数の多い順）。"""
    from bot.cases.store import CaseStore
    from bot.cli.cases_cmd import _since
    from bot.faq.gaps import default_since

    context = cli_context(ctx)
    context.quiet_logs_for_console()
    settings = context.settings
    start = _since(since) or default_since()
    store = None
    try:
        store = CaseStore.from_settings(settings)
        report = build_reporter(settings, store).report(start)
    except ConsultError as exc:
        typer.echo(f"エラー: {exc.user_message}", err=True)
        raise typer.Exit(1)
    finally:
        if store is not None:
            store.close()
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    data = report.to_json()
    typer.echo(f"知識ギャップ（{data['since']} 以降）: 質問 {report.questions} 件、話題 {len(report.topics)} 件")
    if not report.topics:
        typer.echo("資料で答えられなかった質問はありません。")
    for n, topic in enumerate(report.topics, start=1):
        typer.echo(f"\n{n}. {topic.label}（{topic.count} 件）")
        for q in topic.questions:
            typer.echo(f"   ・{q}")
        typer.echo(f"   市町村: {'、'.join(topic.municipalities) or '-'}")
        typer.echo(f"   近い資料: {topic.nearest_section or 'なし'}")
        covered = f"あり（FAQ#{topic.faq_entry_id}）" if topic.covered_by_faq else "なし"
        typer.echo(f"   承認済み FAQ での回答: {covered}")
