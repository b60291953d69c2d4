"""Settings: the public variable names, defaults, .env loading, clear errors, hidden secrets."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_without_any_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.data_dir == Path("data")
    assert s.knowledge_dir == Path("knowledge_base")
    assert s.embeddings == "local"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.database_url_resolved.startswith("sqlite:///")
    assert s.database_url_resolved.endswith("data/consult.sqlite3")
    assert not s.llm_configured and not s.slack_socket_mode_ready and not s.slack_http_ready


def test_public_names_are_read_from_the_environment(monkeypatch, tmp_path):
    env = {
        "CONSULT_DATA_DIR": str(tmp_path / "d"), "CONSULT_KNOWLEDGE_DIR": str(tmp_path / "kb"),
        "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "sig",
        "SLACK_API_URL": "https://slack-gov.com/api", "CONSULT_STAFF_CHANNEL": "C0STAFF",
        "CONSULT_STAFF_USERS": "U1, U2,,", "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
        "CONSULT_LLM_MODEL": "m", "CONSULT_EMBEDDINGS": "openai:text-embedding-3-small",
        "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": "8123", "DATABASE_URL": "postgresql+psycopg://x@h/db",
        "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "dep",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = Settings(_env_file=None)
    assert s.data_dir == tmp_path / "d" and s.knowledge_dir == tmp_path / "kb"
    assert s.slack_api_url == "https://slack-gov.com/api/"  # trailing slash added for WebClient
    assert s.staff_channel == "C0STAFF" and s.staff_users == {"U1", "U2"}
    assert s.llm_model == "m" and s.embeddings == "openai:text-embedding-3-small"
    assert (s.chroma_host, s.chroma_port) == ("127.0.0.1", 8123)
    assert s.database_url_resolved == "postgresql+psycopg://x@h/db"
    assert s.record_manager_url == "postgresql+psycopg://x@h/db"
    assert s.llm_configured and s.slack_socket_mode_ready and s.slack_http_ready


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CONSULT_LLM_MODEL=from-dotenv\nCONSULT_STAFF_CHANNEL=C9\n", encoding="utf-8")
    s = load_settings()
    assert s.llm_model == "from-dotenv" and s.staff_channel == "C9"


def test_secrets_never_show_in_repr_or_logs(caplog):
    s = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-very-secret", OPENAI_API_KEY="sk-very-secret",
                 SLACK_SIGNING_SECRET="sign-very-secret", SLACK_APP_TOKEN="xapp-very-secret",
                 AZURE_OPENAI_API_KEY="az-very-secret")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %r / %s", s, s)
    text = repr(s) + str(s) + caplog.text + str(s.model_dump())
    for secret in ("xoxb-very-secret", "sk-very-secret", "sign-very-secret", "xapp-very-secret", "az-very-secret"):
        assert secret not in text
    assert s.slack_bot_token.get_secret_value() == "xoxb-very-secret"


@pytest.mark.parametrize(
    ("name", "value"),
    [("CONSULT_EMBEDDINGS", "word2vec"), ("CHROMA_PORT", "eighty"), ("SLACK_API_URL", "slack.com/api"),
     ("CONSULT_LLM_TIMEOUT", "-1")],
)
def test_invalid_setting_is_one_clear_line_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert name in message
    assert len(message.splitlines()) == 1
    assert "Traceback" not in message


def test_cli_reports_invalid_setting_without_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CONSULT_EMBEDDINGS": "word2vec", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bot", "doctor"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "CONSULT_EMBEDDINGS" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_ingest_never_imports_bot():
    offenders = []
    for path in (REPO / "ingest").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import bot", "from bot")):
                offenders.append(f"{path.relative_to(REPO)}: {stripped}")
    assert offenders == []


def test_no_environment_reads_outside_settings():
    offenders = []
    for package in ("bot", "ingest"):
        for path in (REPO / package).rglob("*.py"):
            if path.name == "settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            if "os.environ" in text or "os.getenv" in text:
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
