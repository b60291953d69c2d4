"""The Chroma server going down and coming back (a real `chroma run`, stopped and started again on
the same port): one polite Japanese line and exit 1 from one-shot commands, a running console chat
keeps going and answers again without a restart, one log line per state change, and the case of
the question that could not be answered is logged and handed to staff."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

from ingest.errors import IndexUnavailable
from ingest.index import open_index
from ingest.pipeline import run_ingest

from .conftest import REPO

QUESTION = "地域おこし協力隊の定住支援はありますか？"
DOWN_LINE = "unreachable"
UP_LINE = "reachable again"


def _env(settings, kb, chroma) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULT_", "OPENAI_", "SLACK_"))}
    return {**env, **chroma.env(), "CONSULT_DATA_DIR": str(settings.data_dir),
            "CONSULT_KNOWLEDGE_DIR": str(kb), "PYTHONUNBUFFERED": "1"}


def _consult(env, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_one_shot_commands_say_so_politely_and_exit_1(index_settings, kb, counting, chroma):
    settings = index_settings(**chroma.env())
    run_ingest(settings, embeddings=counting)
    chroma.stop()
    env = _env(settings, kb, chroma)
    for args in (["ask", QUESTION], ["index", "stats"], ["ingest"]):
        done = _consult(env, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert "Traceback" not in done.stderr and "接続できません" in lines[-1], (args, done.stderr)
        assert sum(line.startswith("エラー") for line in lines) == 1  # one line for people (logs aside)


def test_running_chat_answers_again_when_chroma_is_back(index_settings, kb, counting, chroma):
    settings = index_settings(**chroma.env())
    run_ingest(settings, embeddings=counting)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=REPO, env=_env(settings, kb, chroma),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def ask() -> str:
        proc.stdin.write(QUESTION + "\n")
        proc.stdin.flush()
        out, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            out.append(line)
            if "相談番号" in line or "接続できない" in line:
                return "".join(out)
        raise AssertionError(f"no reply: {''.join(out)}")

    try:
        assert "協力隊" in ask()
        chroma.stop()
        down = ask()
        assert "接続できない" in down and "担当職員に引き継ぎました" in down
        assert "接続できない" in ask()       # still down: still polite, no new log line
        chroma.start()
        assert "協力隊" in ask()              # back: answered again by the same process
        proc.stdin.close()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    err = proc.stderr.read()
    assert "Traceback" not in err
    assert err.count(DOWN_LINE) == 1 and err.count(UP_LINE) == 1, err

    from bot.cases.store import CaseStore
    from bot.settings import Settings

    store = CaseStore.from_settings(Settings(_env_file=None, CONSULT_DATA_DIR=str(settings.data_dir)))
    try:
        case = store.list_cases()[0]
        turns = store.case_detail(case.id).turns
        assert [t.error for t in turns] == [None, "KnowledgeBaseUnavailable", "KnowledgeBaseUnavailable", None]
        events = [e.kind for e in store.case_detail(case.id).events]
        assert "escalated" in events  # handed to staff when the answer failed
    finally:
        store.close()


def test_reader_handle_recovers_in_place(index_settings, counting, chroma, caplog):
    settings = index_settings(**chroma.env())
    run_ingest(settings, embeddings=counting)
    handle = open_index(settings)
    handle.server_check_interval = 0.0
    chroma.stop()
    for _ in range(5):
        try:
            handle.dense_search("協力隊", 1)
        except IndexUnavailable as exc:
            assert "接続できません" in str(exc)
        else:
            raise AssertionError("a search with the server down must raise IndexUnavailable")
        assert handle.refresh_if_changed() is False
    chroma.start()
    assert handle.dense_search("協力隊", 1)
    assert handle.refresh_if_changed() is False
    messages = [r.getMessage() for r in caplog.records if r.name == "ingest.index"]
    assert sum(DOWN_LINE in m for m in messages) == 1 and sum(UP_LINE in m for m in messages) == 1
