"""`consult doctor`: one line per check, ✓ / ✗ / –, non-zero exit when something required is broken.

Required: a writable data dir, an index, a migrated database. Optional (reported, not required
unless configured): the LLM endpoint and Slack. A configured-but-broken optional part is a failure.
With a Chroma server (several hosts share the index), the ingest records and the cross-host ingest
lock must live in a shared PostgreSQL (DATABASE_URL): without it each host keeps its own records
and its ingests disagree with the others' — a failure.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import typer

from bot.cli.context import cli_context
from bot.errors import ConfigError
from bot.settings import Settings

OK, BAD, SKIP = "✓", "✗", "–"


@dataclass(frozen=True)
class Check:
    status: str      # OK / BAD / SKIP
    name: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == BAD


def check_data_dir(settings: Settings) -> Check:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check(BAD, "データディレクトリ", f"{settings.data_dir} に書き込めません ({exc.strerror})")
    return Check(OK, "データディレクトリ", str(settings.data_dir.resolve()))


def check_index(settings: Settings) -> Check:
    from ingest.errors import IndexMissing, IndexUnavailable
    from ingest.index import open_index

    try:
        stats = open_index(settings).stats()
    except IndexMissing:
        return Check(BAD, "索引", "まだ作成されていません。`consult ingest` を実行してください")
    except IndexUnavailable:
        return Check(BAD, "索引", f"Chroma サーバー（{settings.chroma_host}:{settings.chroma_port}）に接続できません")
    except Exception as exc:  # a broken index must be reported, not crash the report
        return Check(BAD, "索引", f"開けません: {type(exc).__name__}: {exc}")
    chunks = stats.get("chunks", 0)
    model = stats.get("embedding_model", "?")
    if not chunks:
        return Check(BAD, "索引", f"チャンクが0件です（埋め込みモデル {model}）。`consult ingest` を実行してください")
    return Check(OK, "索引", f"{stats.get('documents', '?')} 文書 / {chunks} チャンク（埋め込みモデル {model}）")


def check_database(settings: Settings) -> Check:
    from bot.cases.store import CaseStore

    label = "データベース"
    try:
        store = CaseStore.from_settings(settings, upgrade=False)
        try:
            migrated = store.is_migrated()
        finally:
            store.close()
    except Exception as exc:
        return Check(BAD, label, f"接続できません: {type(exc).__name__}")
    where = "PostgreSQL" if settings.database_url_resolved.startswith("postgresql") else "SQLite"
    if not migrated:
        return Check(BAD, label, f"{where}: マイグレーション未適用です。`consult db upgrade` を実行してください")
    return Check(OK, label, f"{where}: マイグレーション適用済み")


def check_shared_index(settings: Settings) -> Check:
    label = "共有索引"
    if not settings.chroma_host:
        return Check(SKIP, label, "Chroma サーバーは未設定です（索引はこのデータディレクトリだけのものです）")
    server = f"Chroma サーバー {settings.chroma_host}:{settings.chroma_port}"
    if not (settings.database_url or "").startswith("postgresql"):
        return Check(BAD, label, f"{server} を使う設定ですが、DATABASE_URL に共有の PostgreSQL が"
                                 "設定されていません。取り込みの記録がこのホストだけに残り、ほかのホストの"
                                 "取り込みと食い違います（同時に 2 つの取り込みが走ることもあります）")
    return Check(OK, label, f"{server}、取り込みの記録と排他は共有の PostgreSQL")


def check_llm(settings: Settings) -> Check:
    label = "LLM"
    if not settings.llm_configured:
        return Check(SKIP, label, "未設定です（資料の抜粋で回答します）")
    try:
        model = ping_llm(settings)
    except Exception as exc:
        return Check(BAD, label, f"応答がありません: {type(exc).__name__}")
    return Check(OK, label, f"応答あり（モデル {model}）")


def check_slack(settings: Settings) -> Check:
    label = "Slack"
    if not settings.slack_bot_token:
        return Check(SKIP, label, "SLACK_BOT_TOKEN が未設定です（コンソールチャットで動作します）")
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=settings.slack_bot_token.get_secret_value(),
                       base_url=settings.slack_api_url, timeout=10)
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        return Check(BAD, label, f"auth.test が失敗しました: {exc.response.get('error', '?')}")
    except Exception as exc:
        return Check(BAD, label, f"{settings.slack_api_url} に接続できません: {type(exc).__name__}")
    modes = []
    if settings.slack_app_token:
        modes.append("Socket Mode")
    if settings.slack_signing_secret:
        modes.append("HTTP")
    if not modes:
        return Check(BAD, label, "SLACK_APP_TOKEN か SLACK_SIGNING_SECRET のどちらかを設定してください")
    return Check(OK, label, f"{auth.get('team', '?')} に {auth.get('user', '?')} として接続（{' / '.join(modes)}）")


def ping_llm(settings: Settings) -> str:
    """Ask the answerer's own chat model for a one-token reply (short timeout, no retries);
    returns the model that answered."""
    from bot.answering.llm import build_chat_model, model_name

    quick = settings.model_copy(update={"llm_timeout": 10.0, "llm_max_retries": 0})
    reply = build_chat_model(quick).bind(max_tokens=1).invoke("ping")
    return reply.response_metadata.get("model_name") or model_name(settings) or "?"


def run_checks(settings: Settings) -> list[Check]:
    return [check(settings) for check in
            (check_data_dir, check_index, check_shared_index, check_database, check_llm,
             check_slack)]


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(ctx: typer.Context) -> None:
        """設定と接続を点検します (check configuration, index, database, LLM and Slack)."""
        try:
            settings = cli_context(ctx).settings
        except ConfigError as exc:
            typer.echo(f"{BAD} 設定: {exc}")
            raise typer.Exit(1)
        checks = run_checks(settings)
        for check in checks:
            typer.echo(f"{check.status} {check.name}: {check.detail}")
        failed = [c for c in checks if c.failed]
        if failed:
            typer.echo(f"\n{len(failed)} 件の問題があります。上の ✗ の項目を確認してください。")
            raise typer.Exit(1)
        typer.echo("\nすべての必須項目に問題はありません。")
