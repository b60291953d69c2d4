"""Fixtures of the case-store tests: a real SQLite file and a real PostgreSQL schema per test,
a small real answerer over the bundled FAQ sheet, and a TCP proxy in front of PostgreSQL that can
be cut to simulate a database outage.

PostgreSQL (127.0.0.1:5432, database ``test``, user ``postgres``, trust auth) is skipped with a
reason when unreachable — unless ``CI_POSTGRES_REQUIRED=1`` (set by CI), then the tests fail.
"""

from __future__ import annotations

import csv
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from bot.domain import Answer, Conversation, HistoryTurn, Inquiry, Passage, Requester

REPO = Path(__file__).resolve().parents[2]
FAQ_CSV = REPO / "knowledge_base" / "faq" / "faq.csv"
PG_HOST, PG_PORT, PG_DB, PG_USER = "127.0.0.1", 5432, "test", "postgres"


def pg_url(schema: str, port: int = PG_PORT) -> str:
    return (f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{port}/{PG_DB}"
            f"?options=-csearch_path%3D{schema}")


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - dev extras always install it
        return f"psycopg not installed: {exc}"
    try:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER,
                             connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB} unreachable: {type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_available() -> bool:
    reason = _pg_reachable()
    if reason is None:
        return True
    if os.environ.get("CI_POSTGRES_REQUIRED") == "1":
        pytest.fail(f"CI_POSTGRES_REQUIRED=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def pg_schema(pg_available):
    """A fresh schema for one test, dropped afterwards."""
    import psycopg

    schema = f"t_cases_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER,
                         autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER,
                         autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_settings(backend, make_settings, request):
    """Settings whose case database is SQLite under the data dir, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        return make_settings()
    schema = request.getfixturevalue("pg_schema")
    return make_settings(DATABASE_URL=pg_url(schema))


@pytest.fixture
def store(db_settings):
    from bot.cases.store import CaseStore

    s = CaseStore.from_settings(db_settings)
    yield s
    s.close()


# ---- a small real answerer ---------------------------------------------------------------------

def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "、。？！?!「」（）()")
    return {text[i:i + 2] for i in range(len(text) - 1)}


class FaqAnswerer:
    """Answers from the bundled FAQ sheet by character-bigram overlap with its questions, cites
    the entry as [1], and declines honestly below a threshold. Answerer-compatible peer."""

    def __init__(self, threshold: float = 0.3, delay_s: float = 0.0):
        with FAQ_CSV.open(encoding="utf-8-sig", newline="") as fh:
            self.entries = [row for row in csv.DictReader(fh)]
        self.threshold = threshold
        self.delay_s = delay_s
        self.received: list[tuple[str, tuple[HistoryTurn, ...]]] = []
        self._lock = threading.Lock()

    def answer(self, question: str, history=(), on_token=None) -> Answer:
        start = time.perf_counter()
        with self._lock:
            self.received.append((question, tuple(history)))
        if self.delay_s:
            time.sleep(self.delay_s)
        q = _bigrams(question)
        best, score = None, 0.0
        for row in self.entries:
            grams = _bigrams(row["質問"])
            overlap = len(q & grams) / max(1, len(q | grams))
            if overlap > score:
                best, score = row, overlap
        latency = int((time.perf_counter() - start) * 1000)
        if best is None or score < self.threshold:
            return Answer(text="申し訳ありません。資料には該当する記載が見つかりませんでした。",
                          answered=False, mode="none", evidence=score, latency_ms=latency)
        text = f"{best['回答']} [1]"
        if on_token:
            for i in range(0, len(text), 20):
                on_token(text[i:i + 20])
        passage = Passage(chunk_id=f"faq-{self.entries.index(best)}", text=best["回答"],
                          source="faq/faq.csv", title="よくある質問", section=best["該当箇所"],
                          page=None, doc_type="faq", score=score)
        return Answer(text=text, answered=True, mode="extractive", sources=[passage],
                      prompt_version="faq-peer-1", evidence=round(score, 4), latency_ms=latency)


@pytest.fixture
def faq_answerer() -> FaqAnswerer:
    return FaqAnswerer()


@pytest.fixture
def faq_questions() -> list[str]:
    return [row["質問"] for row in FaqAnswerer().entries]


def inquiry(question: str, *, thread: str = "1700000000.000100", user: str = "U100",
            channel: str = "C100", key: str | None = None, name: str = "札幌 花子",
            kind: str = "slack") -> Inquiry:
    return Inquiry(question=question,
                   conversation=Conversation(kind=kind, workspace="T1", channel=channel,
                                             thread_ts=thread),
                   requester=Requester(user_id=user, display_name=name),
                   dedupe_key=key)


@pytest.fixture
def make_inquiry():
    return inquiry


# ---- a TCP proxy in front of PostgreSQL (to cut the database off and bring it back) -------------

class TcpProxy:
    def __init__(self, target_port: int = PG_PORT):
        self.target_port = target_port
        self.port: int | None = None
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> "TcpProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((PG_HOST, self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """The database 'goes away': refuse new connections and cut the open ones."""
        if self._listener is not None:
            try:  # wakes the thread blocked in accept() (close alone does not on Linux)
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def pg_proxy(pg_available):
    proxy = TcpProxy().start()
    yield proxy
    proxy.stop()
