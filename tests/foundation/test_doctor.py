"""`consult doctor` against real local peers: the Slack Web API stand-in (auth.test over HTTP at
SLACK_API_URL) and the OpenAI-compatible stand-in, over a real index and database."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app
from bot.cli.doctor import BAD, OK, SKIP, run_checks
from tests.standins.openai_server import OpenAIStandIn, Reply
from tests.standins.slack_api import SlackApiStandIn

runner = CliRunner()


def _by_name(checks):
    return {c.name: c for c in checks}


def test_all_green_with_index_database_llm_and_slack(indexed_settings):
    with SlackApiStandIn() as slack, OpenAIStandIn(model="standin-chat") as llm:
        settings = indexed_settings(
            SLACK_API_URL=slack.url, SLACK_BOT_TOKEN="xoxb-doctor", SLACK_APP_TOKEN="xapp-doctor",
            OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="sk-doctor", CONSULT_LLM_MODEL="standin-chat",
        )
        from bot.cases.store import CaseStore

        CaseStore.from_settings(settings).close()    # migrate, as `make run` does
        checks = _by_name(run_checks(settings))
        assert checks.pop("共有索引").status == SKIP      # embedded Chroma: nothing shared
        assert all(c.status == OK for c in checks.values()), checks
        assert "チャンク" in checks["索引"].detail and "e5" in checks["索引"].detail
        assert "Socket Mode" in checks["Slack"].detail
        assert [c.method for c in slack.calls()] == ["auth.test"]
        assert slack.calls()[0].token_present
        assert len(llm.chat_requests) == 1 and llm.chat_requests[0].body["model"] == "standin-chat"


def test_broken_llm_and_slack_are_reported_and_fail(indexed_settings):
    with SlackApiStandIn() as slack, OpenAIStandIn() as llm:
        slack.fail("auth.test", error="invalid_auth")
        llm.script(Reply(status=500, error="boom"))
        settings = indexed_settings(
            SLACK_API_URL=slack.url, SLACK_BOT_TOKEN="xoxb-bad", SLACK_SIGNING_SECRET="s",
            OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="sk-bad",
        )
        checks = _by_name(run_checks(settings))
    assert checks["Slack"].status == BAD and "invalid_auth" in checks["Slack"].detail
    assert checks["LLM"].status == BAD
    for check in checks.values():          # secrets never appear in the report
        assert "xoxb-bad" not in check.detail and "sk-bad" not in check.detail


def test_unmigrated_database_is_required(make_settings):
    settings = make_settings()
    checks = _by_name(run_checks(settings))
    assert checks["データベース"].status == BAD
    assert "consult db upgrade" in checks["データベース"].detail


def test_doctor_command_exit_code_and_lines(indexed_settings, monkeypatch):
    settings = indexed_settings()
    monkeypatch.setenv("CONSULT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONSULT_KNOWLEDGE_DIR", str(settings.knowledge_dir))
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert result.output.count("✓") == 3 and result.output.count("–") == 3


def test_chroma_server_without_a_shared_database_is_a_failure(make_settings):
    """Several hosts on one Chroma server need one record manager and one ingest lock: the
    shared PostgreSQL. Nothing is contacted to tell (the check reads the settings alone)."""
    from bot.cli.doctor import check_shared_index

    assert check_shared_index(make_settings()).status == SKIP
    alone = check_shared_index(make_settings(CHROMA_HOST="127.0.0.1", CHROMA_PORT="8765"))
    assert alone.status == BAD and "DATABASE_URL" in alone.detail and "8765" in alone.detail
    sqlite = check_shared_index(make_settings(CHROMA_HOST="127.0.0.1",
                                              DATABASE_URL="sqlite:////tmp/x.sqlite3"))
    assert sqlite.status == BAD
    shared = check_shared_index(make_settings(
        CHROMA_HOST="127.0.0.1", DATABASE_URL="postgresql+psycopg://u@db.internal:5432/consult"))
    assert shared.status == OK and "PostgreSQL" in shared.detail
    assert "u@db.internal" not in shared.detail     # no credentials or hosts of the DB echoed
