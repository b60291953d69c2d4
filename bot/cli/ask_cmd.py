"""`consult ask`, `consult chat`, `consult eval`.

ask/chat go through the consultation service, so every question becomes a logged case.
"""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from pathlib import Path

import typer

from bot.answering import links
from bot.cli.context import cli_context
from bot.domain import Answer, Conversation, Inquiry, Requester
from bot.errors import ConsultError

EXIT_WORDS = {"exit", "quit", "bye", "終了", "おわり", "しゅうりょう"}


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def source_line(n: int, p) -> str:
    where = p.title or p.source
    if p.section:
        where += f" › {p.section}"
    if p.page:
        where += f"（{p.page}ページ）"
    first = p.text.split("\n", 1)[0].strip()
    if first.startswith(("Q:", "Q：")):  # FAQ row: name the question it answers
        question = first[2:].strip()
        where += f" 「{question[:40]}{'…' if len(question) > 40 else ''}」"
    return f"  [{n}] {where} — {p.source}"


def render_sources(answer: Answer) -> str:
    if not answer.sources:
        return ""
    return "\n".join(["", "出典:"] + [source_line(i, p) for i, p in enumerate(answer.sources, start=1)])


def render_text(answer: Answer) -> str:
    """The answer as the terminal shows it: links its cited passages do not contain are plain,
    defanged text (bot.answering.links, the rule of every surface)."""
    return links.answer_plain_text(answer) + render_sources(answer)


def answer_json(question: str, answer: Answer, case_id) -> dict:
    return {
        "question": question,
        "answer": answer.text,
        "answered": answer.answered,
        "mode": answer.mode,
        "sources": [{"n": i, "source": p.source, "title": p.title, "section": p.section,
                     "page": p.page, "score": round(p.score, 6), "text": p.text}
                    for i, p in enumerate(answer.sources, start=1)],
        "case_id": case_id,
    }


def _consult(services, question: str, kind: str, session: str, user: str, on_token=None):
    return services.consultation.consult(Inquiry(
        question=question,
        conversation=Conversation(kind=kind, thread_ts=session),
        requester=Requester(user_id=f"{kind}:{user}" if kind == "console" else f"cli:{user}"),
    ), on_token=on_token)


def _set_k(services, k: int | None) -> None:
    if k is not None:
        services.answerer.k = k


def ask(ctx: typer.Context,
        question: str = typer.Argument(..., help="質問文"),
        as_json: bool = typer.Option(False, "--json", help="結果を JSON で出力します"),
        k: int = typer.Option(5, "--k", min=1, max=20, help="根拠として使う資料の件数")) -> None:
    """質問に1回回答します（相談記録に残ります）。"""
    from bot.pii import PII_NOTICE

    if not question.strip():
        typer.echo("エラー: 質問が空です。質問文を指定してください。", err=True)
        raise typer.Exit(1)
    context = cli_context(ctx)
    context.quiet_logs_for_console()
    services = context.services
    _set_k(services, k)
    _sync_faq(services)
    result = _consult(services, question, "cli", uuid.uuid4().hex[:12], _login())
    if as_json:
        shown = _masked_question(services, question)
        typer.echo(json.dumps(answer_json(shown, result.answer, result.case_id), ensure_ascii=False))
        return
    if result.pii_kinds:
        typer.echo(PII_NOTICE)
        typer.echo("")
    typer.echo(render_text(result.answer))
    if result.case_ref:
        typer.echo(f"\n（相談番号: {result.case_ref}）")


def _sync_faq(services) -> None:
    """A one-shot question: bring the index in step with the approved FAQ entries first (cheap
    when nothing changed; never costs the answer)."""
    if services.faq_sync is None:
        return
    try:
        services.faq_sync.sync_once()
    except Exception as exc:
        import logging

        logging.getLogger(__name__).warning("FAQ index sync skipped (%s)", type(exc).__name__)


def _masked_question(services, question: str) -> str:
    return services.pii.mask_text(question)


def chat(ctx: typer.Context,
         k: int = typer.Option(5, "--k", min=1, max=20, help="根拠として使う資料の件数")) -> None:
    """コンソールで相談します（履歴を保ったまま続けて質問できます。exit か Ctrl-D で終了）。"""
    from bot.pii import PII_NOTICE

    context = cli_context(ctx)
    context.quiet_logs_for_console()
    services = context.services
    _set_k(services, k)
    _sync_faq(services)
    services.start_background()
    interactive = sys.stdin.isatty()
    session = uuid.uuid4().hex[:12]
    user = _login()
    typer.echo("北海道 市町村支援 相談アシスタントです。ご質問をどうぞ（終了するには exit と入力してください）。")
    if not services.answerer.streaming:
        typer.echo("※ 生成AIが設定されていないため、資料の該当箇所を抜粋してお答えします。")
    while True:
        if interactive:
            typer.echo("\n質問> ", nl=False)
        line = sys.stdin.readline()
        if not line:  # EOF
            break
        question = line.strip()
        if not question:
            continue
        if question.lower() in EXIT_WORDS:
            break
        if not interactive:
            typer.echo(f"\n質問> {_masked_question(services, question)}")
        streamed: list[str] = []

        def on_token(piece: str) -> None:
            if not streamed:
                typer.echo("")
            streamed.append(piece)
            typer.echo(piece, nl=False)

        stream = interactive and services.answerer.streaming
        try:
            result = _consult(services, question, "console", session, user, on_token if stream else None)
        except ConsultError as exc:  # e.g. the Chroma server is down: say so, keep the session
            if streamed:
                typer.echo("")
            typer.echo(f"\n{exc.user_message}")
            continue
        if streamed:
            typer.echo("")
        if result.pii_kinds:
            typer.echo(PII_NOTICE)
        typer.echo("")
        if streamed and "".join(streamed).strip() == links.answer_plain_text(result.answer).strip():
            typer.echo(render_sources(result.answer).lstrip("\n"))
        else:
            if streamed:
                typer.echo("（確認の結果、上の下書きを次の回答に差し替えます）")
            typer.echo(render_text(result.answer))
        if result.case_ref:
            typer.echo(f"（相談番号: {result.case_ref}）")
    typer.echo("\nご利用ありがとうございました。")


def eval_cmd(ctx: typer.Context,
             qa_file: Path = typer.Argument(None, help="評価用 JSONL（question と expected_text / expected_source）"),
             conversations: Path = typer.Option(None, "--conversations",
                                                help="会話の評価用 JSONL（1行に1会話。各ターンの正誤を数えます）"),
             mode: str = typer.Option("hybrid", "--mode", help="hybrid | bm25 | dense"),
             k: int = typer.Option(10, "--k", min=1, max=100, help="取得する件数"),
             as_json: bool = typer.Option(False, "--json", help="結果を JSON で出力します")) -> None:
    """現在の索引に対して検索精度（recall@1/5/10, MRR@10）と応答時間を測ります。
    --conversations では会話の各ターンが正しく答えられた割合と、外れたターンを表示します。"""
    from bot.answering.evaluation import QAFileError, evaluate, load_qa
    from bot.answering.retriever import MODES, HybridRetriever

    if (qa_file is None) == (conversations is None):
        typer.echo("エラー: 評価ファイルか --conversations のどちらか一方を指定してください。", err=True)
        raise typer.Exit(1)
    if conversations is not None:
        _eval_conversations(ctx, conversations, as_json)
        return
    if mode not in MODES:
        typer.echo(f"エラー: --mode には {' / '.join(MODES)} のいずれかを指定してください。", err=True)
        raise typer.Exit(1)
    try:
        items = load_qa(qa_file)
    except QAFileError as exc:
        typer.echo(f"エラー: {exc}", err=True)
        raise typer.Exit(1)
    retriever = HybridRetriever.from_settings(cli_context(ctx).settings)
    retriever.search("ウォームアップ", k=k, mode=mode)  # open the index and load models first
    result, _ = evaluate(items, lambda q: retriever.search(q, k=k, mode=mode))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(f"評価件数: {result['n']}（モード: {mode}, k={k}）")
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10"):
        typer.echo(f"  {key:<10} {result[key]:.4f}")
    typer.echo(f"  応答時間 p50 {result['latency_ms_p50']:.1f} ms / p95 {result['latency_ms_p95']:.1f} ms")


def _eval_conversations(ctx: typer.Context, path: Path, as_json: bool) -> None:
    """Every turn answered by the product's answerer with its conversation's earlier turns."""
    from bot.answering.answerer import Answerer
    from bot.answering.conversation_eval import load_conversations, run_conversations
    from bot.answering.evaluation import QAFileError
    from bot.answering.retriever import HybridRetriever

    try:
        dialogues = load_conversations(path)
    except QAFileError as exc:
        typer.echo(f"エラー: {exc}", err=True)
        raise typer.Exit(1)
    context = cli_context(ctx)
    context.quiet_logs_for_console()
    settings = context.settings
    answerer = Answerer.from_settings(settings, HybridRetriever.from_settings(settings))
    report = run_conversations(dialogues, answerer)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    typer.echo(f"会話 {report.conversations} 件・ターン {report.turns} 件のうち、正しく答えたターン: "
               f"{report.right} 件（{report.accuracy:.1%}）")
    if report.misses:
        typer.echo("外れたターン:")
    for miss in report.misses:
        typer.echo(f"  {miss.conversation} #{miss.index} {miss.question}")
        typer.echo(f"      期待: {'回答を控える' if miss.expected == 'decline' else miss.expected}")
        typer.echo(f"      結果: {'回答を控えた' if miss.got == 'declined' else miss.got}")


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("chat")(chat)
    app.command("eval")(eval_cmd)
