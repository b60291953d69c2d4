"""`make run`'s plumbing end to end: `consult run` with no Slack tokens ingests the bundled
knowledge base, says Slack is not configured, and answers piped questions with sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(data_dir: Path, stdin: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "CONSULT_DATA_DIR": str(data_dir),
        "CONSULT_KNOWLEDGE_DIR": str(REPO / "knowledge_base"),
        "CONSULT_WEB_PORT": "0",          # the staff console on a free port
        "CONSULT_LOCAL_OPERATOR": "cli:operator",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"], input=stdin, cwd=cwd, env=env,
        capture_output=True, text=True, timeout=300,
    )


def test_console_run_answers_piped_question_with_sources(bundled_index_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(bundled_index_dir, data_dir)   # first ingest already paid for by the fixture
    proc = _run(data_dir, "地域おこし協力隊の定住支援は？\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Slack が設定されていない" in proc.stderr
    out = proc.stdout
    assert "協力隊" in out
    assert "ワンストップ窓口" in out                  # the passage that answers it
    sources = out.split("出典", 1)[1]                  # the sources block follows the answer
    assert "協力隊" in sources and ("faq/faq.csv" in sources or "strategy/" in sources)
    assert "相談#" in out                              # the consultation was logged as a case
    # the staff console ran in the background: its URL and a login link came first
    assert "職員用ページ: http://127.0.0.1:" in proc.stderr
    assert "ログイン用リンク（cli:operator として" in proc.stderr and "/login/link?token=" in proc.stderr
    assert "質問>" not in proc.stderr                  # printed before the chat started (stdout)
    assert " INFO " not in proc.stderr                 # log lines do not interleave with the chat
    # The index was already up to date: nothing was re-embedded.
    assert "追加 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_console_run_is_incremental_and_survives_eof_without_questions(bundled_index_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(bundled_index_dir, data_dir)
    proc = _run(data_dir, "", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "索引を確認しました" in proc.stderr
    assert "Traceback" not in proc.stderr
