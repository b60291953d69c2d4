"""`consult ingest` / `consult index stats` / `python -m ingest`: summaries, --json, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.cli import app
from ingest.lock import ingest_lock

from .conftest import REPO, write


@pytest.fixture
def cli_env(monkeypatch, tmp_path, kb):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_KNOWLEDGE_DIR", str(kb))
    return tmp_path / "data"


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_ingest_summary_then_json_then_stats(cli_env, kb):
    result = _invoke("ingest")
    assert result.exit_code == 0, result.output
    assert "取り込みが完了しました" in result.stdout
    assert "新規 3" in result.stdout and "失敗 0" in result.stdout

    result = _invoke("ingest", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["failed"] == [] and data["files_unchanged"] == 3 and data["chunks_added"] == 0
    for key in ("files_seen", "files_new", "files_changed", "files_removed", "chunks_skipped",
                "chunks_deleted", "elapsed_s"):
        assert key in data

    result = _invoke("index", "stats")
    assert result.exit_code == 0
    assert "チャンク数" in result.stdout and "multilingual-e5-small" in result.stdout
    stats = json.loads(_invoke("index", "stats", "--json").stdout)
    assert stats["documents"] == 3 and set(stats["per_doc_type"]) == {"strategy", "rules", "faq"}


def test_some_files_failed_exit_code_2_with_reasons(cli_env, kb):
    write(kb / "rules" / "scan.pdf", "%PDF-1.4 not a pdf")
    result = _invoke("ingest", "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [f["path"] for f in data["failed"]] == ["rules/scan.pdf"]
    assert "PDF" in data["failed"][0]["error"]
    text = _invoke("ingest")
    assert text.exit_code == 2 and "rules/scan.pdf" in text.stdout and "以前に取り込んだ内容" in text.stdout


def test_dry_run_and_fatal_errors_exit_1(cli_env, kb, tmp_path):
    result = _invoke("ingest", "--dry-run")
    assert result.exit_code == 0 and "dry-run" in result.stdout
    assert _invoke("index", "stats").exit_code == 1  # nothing was written

    result = _invoke("ingest", str(tmp_path / "no-such-folder"))
    assert result.exit_code == 1 and "見つかりません" in result.stderr

    with ingest_lock(cli_env):
        result = _invoke("ingest", "--json")
    assert result.exit_code == 1
    assert "別の取り込み処理が実行中" in result.stderr
    assert json.loads(result.stdout)["failed"] == []


def test_python_dash_m_ingest(kb, tmp_path):
    write(kb / "faq" / "broken.xlsx", "not a zip file")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULT_", "CHROMA_", "OPENAI_"))}
    env.update(CONSULT_DATA_DIR=str(tmp_path / "data"), CONSULT_KNOWLEDGE_DIR=str(kb))
    done = subprocess.run([sys.executable, "-m", "ingest", "--json", str(kb / "faq")], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    data = json.loads(done.stdout)
    assert data["scope"] == "faq" and data["files_seen"] == 2
    assert [f["path"] for f in data["failed"]] == ["faq/broken.xlsx"]
    assert "Excel" in data["failed"][0]["error"]


def test_ingest_package_never_imports_bot():
    code = ("import sys, ingest.pipeline, ingest.index, ingest.cli, ingest.__main__; "
            "bad = [m for m in sys.modules if m == 'bot' or m.startswith('bot.')]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
