"""`consult faq …`: FAQ entries from staff answers, through the one FAQ service
(``bot.faq.service.FaqService``) — the same rules, masking, warnings and audit trail as the web
console and Slack. Actions are recorded under the local operator (``CONSULT_LOCAL_OPERATOR``).

    consult faq list [--status draft|approved|rejected|retired] [--json]
    consult faq show ID [--json]
    consult faq draft REF                      # a draft from a case's staff answer
    consult faq add --question Q --answer A [--section S] [--category C] [--approve] [--yes]
    consult faq approve ID [--yes]             # --yes: approve despite personal-data warnings
    consult faq reject ID [--reason R]
    consult faq retire ID [--reason R]
    consult faq export [--output FILE]         # approved entries as an FAQ sheet (CSV)

`--json`: `list` prints one object per line, `show` one object; keys
``id,status,question,answer,section,category,case_ref,approved_by,approved_at,citations``
(`show` adds ``events``). Errors: one Japanese line on stderr, exit 1. Running processes pick up
an approval or retirement by themselves within a minute (``bot.faq.sync``).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

from bot.cli.context import cli_context
from bot.errors import ConsultError

faq_app = typer.Typer(help="職員の回答から作る FAQ を管理します。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(faq_app, name="faq")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@contextmanager
def _service(ctx: typer.Context) -> Iterator:
    """The FAQ service on a store of its own (no retriever: the CLI stays quick)."""
    from bot.cases.store import CaseStore
    from bot.services import build_faq, build_workflow

    settings = cli_context(ctx).settings
    store = None
    try:
        store = CaseStore.from_settings(settings)
        workflow = build_workflow(settings, store)
        yield build_faq(settings, store, workflow), settings.local_operator_id
    except ConsultError as exc:
        _fail(f"エラー: {exc.user_message}")
    finally:
        if store is not None:
            store.close()


def _status(value: Optional[str]) -> Optional[str]:
    from bot.faq.views import FaqStatus

    if value is not None and value not in {str(s) for s in FaqStatus}:
        raise typer.BadParameter(f"状態「{value}」は不明です。draft / approved / rejected / retired のいずれかです。")
    return value


def _dumps(obj, indent=None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


def _warn(lines) -> None:
    for line in lines:
        typer.echo(f"注意: {line}", err=True)


@faq_app.command("list")
def list_cmd(ctx: typer.Context,
             status: Optional[str] = typer.Option(None, "--status", callback=_status,
                                                  help="draft / approved / rejected / retired"),
             as_json: bool = typer.Option(False, "--json", help="1 行に 1 件の JSON で出力")) -> None:
    """FAQ の一覧を更新の新しい順に表示します。"""
    from bot.faq.views import FAQ_STATUS_LABELS, entry_json, jst_date

    with _service(ctx) as (faq, actor):
        listed = faq.list(actor, status)
    if as_json:
        for entry in listed.entries:
            typer.echo(_dumps(entry_json(entry)))
        return
    if not listed.entries:
        typer.echo("該当する FAQ はありません。")
    for e in listed.entries:
        typer.echo("\t".join([e.ref, e.status_label, e.case_ref or "-", e.category or "-",
                              jst_date(e.approved_at) or "-", f"引用 {e.citations} 件",
                              " ".join(e.question.split())[:60]]))
    typer.echo("（" + "、".join(f"{FAQ_STATUS_LABELS[k]} {v}" for k, v in listed.counts.items())
               + "）")


@faq_app.command("show")
def show_cmd(ctx: typer.Context, entry: str = typer.Argument(..., help="FAQ 番号（例: 3 または FAQ#3）"),
             as_json: bool = typer.Option(False, "--json", help="JSON で出力")) -> None:
    """FAQ の内容と変更履歴を表示します。"""
    from bot.faq.views import entry_json, event_json, jst_date

    with _service(ctx) as (faq, actor):
        detail = faq.detail(actor, entry)
        warnings = faq.warnings(detail.entry) if detail.entry.status == "draft" else []
    e = detail.entry
    if as_json:
        obj = entry_json(e)
        obj["events"] = [event_json(ev) for ev in detail.events]
        typer.echo(_dumps(obj, indent=2))
        return
    typer.echo(f"{e.ref}  {e.status_label}" + (f"（{e.label}）" if e.status == "approved" else ""))
    typer.echo(f"  出典の相談: {e.case_ref or '-'}  分類: {e.category or '-'}  該当箇所: {e.section or '-'}")
    typer.echo(f"  承認: {jst_date(e.approved_at) or '-'} {e.approved_by or ''}  引用: {e.citations} 件")
    typer.echo("質問:")
    typer.echo("  " + e.question.replace("\n", "\n  "))
    typer.echo("回答:")
    typer.echo("  " + e.answer.replace("\n", "\n  "))
    typer.echo("履歴:")
    for ev in detail.events:
        change = f"（{'、'.join(ev.changed)}）" if ev.changed else ""
        typer.echo(f"  {ev.created_at.astimezone().strftime('%Y-%m-%d %H:%M')}  {ev.label}{change}  "
                   f"{ev.actor}" + (f"  {ev.text}" if ev.text else ""))
    _warn(warnings)


@faq_app.command("draft")
def draft_cmd(ctx: typer.Context,
              ref: str = typer.Argument(..., help="相談番号（例: 相談#12 または 12）")) -> None:
    """相談への職員の回答から FAQ の下書きを作ります（質問は相談者の質問を伏せ字にしたもの）。"""
    with _service(ctx) as (faq, actor):
        result = faq.draft_from_case(actor, ref)
    typer.echo(result.message)
    typer.echo(f"編集: 職員用ページの FAQ 画面、または consult faq show {result.entry.id}")
    _warn(result.warnings)


@faq_app.command("add")
def add_cmd(ctx: typer.Context,
            question: str = typer.Option(..., "--question", help="質問"),
            answer: str = typer.Option(..., "--answer", help="回答"),
            section: Optional[str] = typer.Option(None, "--section", help="該当箇所（資料の見出しパス）"),
            category: Optional[str] = typer.Option(None, "--category", help="分類（事業名など）"),
            approve: bool = typer.Option(False, "--approve", help="作成と同時に承認します"),
            yes: bool = typer.Option(False, "--yes", help="個人情報の注意があっても承認します")) -> None:
    """FAQ を新しく書きます（下書き、または --approve で承認済み）。"""
    with _service(ctx) as (faq, actor):
        if section and faq.section_known(section) is False:
            _warn([f"該当箇所「{section}」は索引にありません（引用の際に資料が先に示されません）。"])
        result = faq.create(actor, question=question, answer=answer, section=section,
                            category=category, approve=approve, confirm=yes)
    typer.echo(result.message)
    _warn(result.warnings)


@faq_app.command("approve")
def approve_cmd(ctx: typer.Context, entry: str = typer.Argument(..., help="FAQ 番号"),
                yes: bool = typer.Option(False, "--yes", help="個人情報の注意があっても承認します")) -> None:
    """FAQ を承認します（回答に使われるようになります）。"""
    from bot.faq.service import NeedsConfirmation

    with _service(ctx) as (faq, actor):
        try:
            result = faq.approve(actor, entry, confirm=yes)
        except NeedsConfirmation as exc:
            _fail("エラー: " + exc.user_message.replace("「確認して承認する」を押してください",
                                                       "--yes を付けて実行してください"))
    typer.echo(result.message)


@faq_app.command("reject")
def reject_cmd(ctx: typer.Context, entry: str = typer.Argument(..., help="FAQ 番号"),
               reason: Optional[str] = typer.Option(None, "--reason", help="理由")) -> None:
    """下書きの FAQ を却下します。"""
    with _service(ctx) as (faq, actor):
        result = faq.reject(actor, entry, reason)
    typer.echo(result.message)


@faq_app.command("retire")
def retire_cmd(ctx: typer.Context, entry: str = typer.Argument(..., help="FAQ 番号"),
               reason: Optional[str] = typer.Option(None, "--reason", help="理由")) -> None:
    """承認済みの FAQ を廃止します（回答に使われなくなります）。"""
    with _service(ctx) as (faq, actor):
        result = faq.retire(actor, entry, reason)
    typer.echo(result.message)


@faq_app.command("export")
def export_cmd(ctx: typer.Context,
               output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                     help="出力先（省略時は標準出力）")) -> None:
    """承認済みの FAQ を、資料フォルダに置ける FAQ シート（CSV, UTF-8 BOM 付き）として出力します。"""
    import sys

    from bot.faq.export import faq_sheet

    with _service(ctx) as (faq, actor):
        entries = faq.list(actor, "approved").entries
    data = faq_sheet(sorted(entries, key=lambda e: e.id))
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    typer.echo(f"承認済みの FAQ {len(entries)} 件を {output} に出力しました。", err=True)
