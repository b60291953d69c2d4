"""An approval reaches a second, already running process without a restart, and a retirement
stops it citing the entry: real processes (`consult chat` reading questions from a pipe), the
case database shared — SQLite in a shared data dir, PostgreSQL with a data dir (index) per
process, and server mode: two replicas on one Chroma server (records and cases in PostgreSQL),
neither of them the process that approved."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.cases.policy import DefaultStaffPolicy
from bot.cases.store import CaseStore
from tests.faq.conftest import faq_service

OPERATOR = "cli:operator"
ASK = "庁用車をEVに買い替える場合の補助金を教えてください。"
# `python -m bot` with this checkout first on the path: the code under test, never an installed copy
REPO = Path(__file__).resolve().parents[2]


class ChatProcess:
    """`consult chat` as a separate process; ask() sends a question, returns the printed answer."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "chat"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env, cwd=cwd, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def ask(self, question: str, timeout: float = 120.0) -> str:
        self.proc.stdin.write(question + "\n")
        self.proc.stdin.flush()
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(f"consult chat exited: {self.proc.stderr.read()[-2000:]}")
                continue
            out.append(line)
            if line.startswith("（相談番号:"):
                return "".join(out)
        raise AssertionError("no answer within the timeout:\n" + "".join(out))

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def _env(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONSULT_", "DATABASE_URL", "CHROMA_"))}
    env.update(extra)
    env.update(CONSULT_DATA_DIR=str(data_dir), CONSULT_FAQ_SYNC_SECONDS="1",
               CONSULT_KNOWLEDGE_DIR=str(REPO / "knowledge_base"), PYTHONPATH=str(REPO))
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _wait_until(chat: ChatProcess, predicate, limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if predicate(chat.ask(ASK)):
            return time.monotonic() - start
        time.sleep(0.3)
    pytest.fail(f"not seen within {limit} s")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_approval_reaches_a_running_process_and_retirement_leaves_it(
        backend, bundled_index_dir, tmp_path, make_settings, request):
    data_dir = tmp_path / "replica-data"
    shutil.copytree(bundled_index_dir, data_dir)
    if backend == "sqlite":
        database_url = None
        mine = make_settings(CONSULT_DATA_DIR=str(data_dir))   # same data dir, same SQLite file
    else:
        from tests.cases.conftest import pg_url

        database_url = pg_url(request.getfixturevalue("pg_schema"))
        mine = make_settings(DATABASE_URL=database_url)          # no index here at all
    store = CaseStore.from_settings(mine)
    faq = faq_service(store, DefaultStaffPolicy(local_operator=OPERATOR))
    chat = ChatProcess(_env(data_dir, database_url), tmp_path)
    try:
        first = chat.ask(ASK)                              # running, and declining
        assert "職員回答" not in first and "見つかりませんでした" in first
        entry = faq.create(OPERATOR, approve=True,
                           question="公用車を電気自動車に更新するとき、使える補助制度はありますか？",
                           answer="環境省の「地域脱炭素移行・再エネ推進交付金」が活用できます。"
                                  "車両購入費は地域づくり総合交付金の対象外です。").entry
        seen = _wait_until(chat, lambda text: entry.label in text and "地域脱炭素移行" in text, 60)
        assert seen < 60
        faq.retire(OPERATOR, entry.id)
        _wait_until(chat, lambda text: entry.label not in text, 60)
        # it counted the answers that cited the entry, in the shared database
        assert faq.detail(OPERATOR, entry.id).entry.citations >= 1
    finally:
        chat.close()
        store.close()


def test_server_mode_every_replica_answers_and_stops_citing(bundled_index_dir, tmp_path,
                                                            make_settings, request):
    from tests.cases.conftest import pg_url
    from tests.standins.chroma_server import ChromaServer
    from ingest.pipeline import run_ingest

    server = ChromaServer(tmp_path / "chroma-server", tmp_path / "chroma-server.log")
    if not server.available:
        pytest.skip("the chroma CLI is not installed in this environment")
    database_url = pg_url(request.getfixturevalue("pg_schema"))
    server.start()
    chats: list[ChatProcess] = []
    store = None
    try:
        # one host ingests the bundled knowledge base into the server (embeddings from the cache)
        writer = make_settings(DATABASE_URL=database_url, **server.env())
        shutil.copytree(bundled_index_dir / "cache", writer.data_dir / "cache")
        run_ingest(writer)
        # two replicas with data dirs of their own (nothing but their local BM25 build there)
        chats = [ChatProcess(_env(tmp_path / f"replica-{n}", database_url, **server.env()), tmp_path)
                 for n in (1, 2)]
        for chat in chats:
            first = chat.ask(ASK)
            assert "職員回答" not in first and "見つかりませんでした" in first
        store = CaseStore.from_url(database_url)
        faq = faq_service(store, DefaultStaffPolicy(local_operator=OPERATOR))
        entry = faq.create(OPERATOR, approve=True,
                           question="公用車を電気自動車に更新するとき、使える補助制度はありますか？",
                           answer="環境省の「地域脱炭素移行・再エネ推進交付金」が活用できます。").entry
        for chat in chats:
            assert _wait_until(chat, lambda text: entry.label in text and "地域脱炭素移行" in text, 60) < 60
        faq.retire(OPERATOR, entry.id)
        for chat in chats:
            _wait_until(chat, lambda text: entry.label not in text, 60)
        assert faq.detail(OPERATOR, entry.id).entry.citations >= 2
    finally:
        for chat in chats:
            chat.close()
        if store is not None:
            store.close()
        server.stop()
