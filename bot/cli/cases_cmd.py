"""`consult cases …`: the staff workflow on the command line (`stats` lives in stats_cmd.py, `consult
db …` in db_cmd.py).

Staff actions go through the one staff workflow (``bot.cases.workflow``), exactly like the Slack
card and the web console: the same transition table and refusals, the same Slack effects (card
updated, officer told, a reply posted into the officer's thread) when a bot token is configured.
They are recorded under the local operator (``CONSULT_LOCAL_OPERATOR``, default ``cli:<login>``).
`--json` prints one object per case (one line each for `list`) with the stable keys
``ref,status,requester,municipality,title,created_at,updated_at,assignee,turns,events``.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

import typer

from bot.cli.context import cli_context
from bot.errors import ConsultError

cases_app = typer.Typer(help="相談（ケース）の一覧・詳細・対応・出力を行います。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")


def _actor(ctx: typer.Context) -> str:
    return cli_context(ctx).settings.local_operator_id


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def _workflow(ctx: typer.Context) -> Iterator:
    """The staff workflow on a store of its own (no retriever: the CLI stays quick)."""
    from bot.services import build_workflow

    with _store(ctx) as store:
        try:
            yield build_workflow(cli_context(ctx).settings, store)
        except ConsultError as exc:
            _fail(f"エラー: {exc.user_message}")


@contextmanager
def _store(ctx: typer.Context, *, upgrade: bool = True) -> Iterator:
    from bot.cases.store import CaseStore

    settings = cli_context(ctx).settings  # a bad setting is reported by the CLI's edge, by name
    store = None
    try:
        store = CaseStore.from_settings(settings, upgrade=upgrade)
        yield store
    except ConsultError as exc:
        _fail(f"エラー: {exc.user_message}")
    finally:
        if store is not None:
            store.close()


def _when(value: Optional[str], *, end: bool = False) -> Optional[datetime]:
    """A period bound: a date (JST) or an ISO date-time (JST when no offset is given). As the end
    of a period (``end=True``) a plain date includes that whole day."""
    if not value:
        return None
    from datetime import timedelta

    from bot.cases.export import JST

    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日付「{value}」を読み取れません。2026-04-01 の形式で指定してください。")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=JST)
    if end and len(text) == 10:  # a date: up to the end of that day
        parsed += timedelta(days=1)
    return parsed.astimezone(timezone.utc)


def _since(value: Optional[str]) -> Optional[datetime]:
    """`--since`: a date (JST midnight) or an ISO date-time (JST when no offset is given)."""
    return _when(value)


def _until(value: Optional[str]) -> Optional[datetime]:
    """`--until`: through that date (JST), or up to an ISO date-time."""
    return _when(value, end=True)


def _status(value: Optional[str]) -> Optional[str]:
    from bot.cases.views import CaseStatus

    if value is not None and value not in {str(s) for s in CaseStatus}:
        raise typer.BadParameter(
            f"状態「{value}」は不明です。answered / needs_staff / in_progress / resolved のいずれかです。")
    return value


def _write(data: bytes, output: Optional[Path]) -> None:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)


# ---- cases --------------------------------------------------------------------------------------

@cases_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Optional[str] = typer.Option(None, "--status", callback=_status,
                                         help="answered / needs_staff / in_progress / resolved"),
    since: Optional[str] = typer.Option(None, "--since", help="この日付以降に始まった相談 (例: 2026-04-01)"),
    municipality: Optional[str] = typer.Option(None, "--municipality", help="市町村名"),
    limit: int = typer.Option(0, "--limit", min=0, help="最大件数（0 は全件）"),
    as_json: bool = typer.Option(False, "--json", help="1 行に 1 相談の JSON で出力"),
) -> None:
    """相談の一覧を新しい順に表示します。"""
    from bot.cases.export import case_json, dumps, local

    filters = dict(status=status, since=_since(since), municipality=municipality,
                   limit=limit or None)
    with _store(ctx) as store:
        if as_json:
            for detail in store.list_details(**filters):
                typer.echo(dumps(case_json(detail)))
            return
        cases = store.list_cases(**filters)
        if not cases:
            typer.echo("該当する相談はありません。")
            return
        for c in cases:
            typer.echo("\t".join([c.ref, c.status_label, local(c.created_at), c.municipality or "-",
                                  c.requester_name or c.requester_id, c.assignee or "-", c.title]))
        typer.echo(f"（{len(cases)} 件）")


@cases_app.command("show")
def show_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号（例: 相談#12 または 12）"),
             as_json: bool = typer.Option(False, "--json", help="JSON で出力")) -> None:
    """相談の詳細（やり取り・出典・対応履歴）を表示します。"""
    from bot.cases.export import case_json, dumps

    with _store(ctx) as store:
        detail = store.case_detail(ref)
        if as_json:
            typer.echo(dumps(case_json(detail), indent=2))
            return
        _print_detail(detail)


def _print_detail(detail) -> None:
    from bot.cases.export import local
    from bot.cases.views import EVENT_LABELS

    c = detail.case
    typer.echo(f"{c.ref}  {c.title}")
    typer.echo(f"  状態: {c.status_label}" + (f"（{c.escalation_label}）" if c.escalation_label else ""))
    typer.echo(f"  依頼者: {c.requester_name or '-'} ({c.requester_id})  市町村: {c.municipality or '-'}")
    typer.echo(f"  担当者: {c.assignee or '-'}  事業: {'、'.join(c.programmes) or '-'}")
    typer.echo(f"  開始: {local(c.created_at)}  更新: {local(c.updated_at)}")
    for i, t in enumerate(detail.turns, start=1):
        typer.echo(f"\n── 質問 {i}（{local(t.created_at)}）")
        typer.echo(t.question)
        label = {"llm": "生成回答", "extractive": "資料の抜粋", "none": "回答なし"}.get(t.mode or "", "未完了")
        typer.echo(f"── 回答（{label}）" + (f" エラー: {t.error}" if t.error else ""))
        typer.echo(t.answer or "（回答は記録されていません）")
        for s in t.sources:
            page = f" p.{s['page']}" if s.get("page") else ""
            typer.echo(f"  [{s.get('n')}] {s.get('title', '')} › {s.get('section', '')}{page}")
        if t.feedback:
            mark = "👍" if t.feedback == "up" else "👎"
            typer.echo(f"  評価: {mark} {t.feedback_comment or ''}".rstrip())
    typer.echo("\n── 対応履歴")
    names = EVENT_LABELS
    for e in detail.events:
        move = f" {e.from_status or '-'}→{e.to_status}" if e.to_status else ""
        text = f"  {e.text}" if e.text else ""
        typer.echo(f"  {local(e.created_at)}  {names.get(e.kind, e.kind)}  {e.actor}{move}{text}")


@cases_app.command("assign")
def assign_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
               user: str = typer.Argument(..., help="担当者（Slack ユーザー ID など）")) -> None:
    """相談の担当者を設定します（状態は「対応中」になります）。"""
    with _workflow(ctx) as workflow:
        case = workflow.assign(_actor(ctx), ref, user).case
        typer.echo(f"{case.ref} の担当者を {user} にしました（状態: {case.status_label}）。")


@cases_app.command("reply")
def reply_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
              text: str = typer.Argument(..., help="相談者への回答（Slack のスレッドに投稿されます）")) -> None:
    """相談者に回答します（Slack で受け付けた相談はそのスレッドに投稿し、記録します）。"""
    with _workflow(ctx) as workflow:
        typer.echo(workflow.reply(_actor(ctx), ref, text).message)


@cases_app.command("note")
def note_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
             text: str = typer.Argument(..., help="内部メモ（相談者には表示されません）")) -> None:
    """内部メモを追加します。"""
    if not text.strip():
        _fail("エラー: メモの内容が空です。", 2)
    with _workflow(ctx) as workflow:
        result = workflow.note(_actor(ctx), ref, text)
        typer.echo(f"{result.case.ref} にメモを追加しました。")


@cases_app.command("resolve")
def resolve_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
                note: Optional[str] = typer.Option(None, "--note", help="解決時のメモ")) -> None:
    """相談を解決済みにします。"""
    with _workflow(ctx) as workflow:
        case = workflow.resolve(_actor(ctx), ref, text=note).case
        typer.echo(f"{case.ref} を解決済みにしました。")


@cases_app.command("reopen")
def reopen_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
               note: Optional[str] = typer.Option(None, "--note", help="再開の理由")) -> None:
    """解決済みの相談を再開します（状態は「職員対応待ち」に戻ります）。"""
    with _workflow(ctx) as workflow:
        typer.echo(workflow.reopen(_actor(ctx), ref, text=note).message)


@cases_app.command("municipality")
def municipality_cmd(ctx: typer.Context, ref: str = typer.Argument(..., help="相談番号"),
                     name: str = typer.Argument(..., help="市町村名（空文字で未設定に戻します）")) -> None:
    """相談の市町村を変更します。"""
    with _workflow(ctx) as workflow:
        case = workflow.set_municipality(_actor(ctx), ref, name).case
        typer.echo(f"{case.ref} の市町村を「{case.municipality or '未設定'}」にしました。")


@cases_app.command("export")
def export_cmd(
    ctx: typer.Context,
    fmt: str = typer.Option("csv", "--format", help="csv / xlsx / jsonl"),
    per: str = typer.Option("turn", "--per", help="turn（質問ごとに 1 行）または case（相談ごとに 1 行）"),
    since: Optional[str] = typer.Option(None, "--since", help="この日付以降に始まった相談"),
    until: Optional[str] = typer.Option(None, "--until", help="この日付までに始まった相談"),
    status: Optional[str] = typer.Option(None, "--status", callback=_status,
                                         help="answered / needs_staff / in_progress / resolved"),
    municipality: Optional[str] = typer.Option(None, "--municipality", help="市町村名"),
    query: Optional[str] = typer.Option(None, "--search", help="件名・質問・回答に含まれる語（空白区切りですべてを含む）"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="出力先ファイル（省略時は標準出力）"),
) -> None:
    """相談記録を CSV（UTF-8 BOM 付き）・Excel（xlsx）・JSON Lines で出力します（職員用ページのエクスポートと同じ列）。"""
    from bot.cases import export
    from bot.cases.queue import QueueFilter

    if fmt not in ("csv", "xlsx", "jsonl"):
        raise typer.BadParameter("csv / xlsx / jsonl のいずれかを指定してください。", param_hint="--format")
    if per not in ("turn", "case"):
        raise typer.BadParameter("turn または case を指定してください。", param_hint="--per")
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        _fail("エラー: Excel 形式は --output でファイルを指定してください。", 2)
    start, end = _since(since), _until(until)
    with _store(ctx) as store:
        f = QueueFilter(tab=status or "all", municipality=municipality, q=query or "")
        details = [d for d in store.iter_export(f)
                   if (start is None or d.case.created_at >= start)
                   and (end is None or d.case.created_at < end)]
        if fmt == "csv":
            data = export.csv_bytes(details, per)
        elif fmt == "xlsx":
            data = export.xlsx_bytes(details, per)
        else:
            data = export.jsonl_bytes(details)
        _write(data, output)
    if output is not None:
        typer.echo(f"{len(details)} 件の相談を {output} に出力しました。", err=True)
