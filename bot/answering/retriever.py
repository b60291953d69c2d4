"""Hybrid retriever: dense (Chroma, e5 `query:`) top-N + BM25 (bm25s over Sudachi tokens) top-N,
weighted reciprocal-rank fusion, near-duplicate collapse, top-k passages.

It reads the index only through `ingest.index.open_index(settings)` and is a LangChain
`BaseRetriever`, so it also plugs into chains (`retriever.invoke("質問")` -> Documents).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr, model_validator

from bot.answering.basis import basis_of, diversify, expand_basis
from bot.answering.evidence import EvidenceModel
from bot.answering.fusion import FusionParams, collapse_near_duplicates, hybrid_fuse
from bot.answering.passages import page_of, split_heading, to_document  # noqa: F401 (re-exported)
from bot.answering.rescoring import Focus, RescoreParams, rescore
from bot.domain import Passage
from bot.errors import KnowledgeBaseMissing, KnowledgeBaseUnavailable

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
DENSE_THREADS = 4           # dense searches running at once (one per busy answering thread)


class Ranked(list):
    """The passages of one search, best-first, plus `best_dense`: the highest cosine similarity
    the dense search found for the query (None when it did not run), which the evidence model
    reads whether or not that chunk kept a place in the top-k."""

    best_dense: float | None = None


class HybridRetriever(BaseRetriever):
    """`search(query, k, doc_type, mode) -> list[Passage]`; `evidence(query, passages) -> 0..1`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: Any = None
    k: int = 5
    mode: str = "hybrid"
    doc_type: str | None = None
    params: FusionParams = FusionParams()
    evidence_model: EvidenceModel = EvidenceModel()
    dedupe_threshold: float = 0.85
    # At most this many passages of one source file in the top-k (backfilled when short), so one
    # large sheet without a basis column cannot crowd everything else out. 0 = no limit.
    max_per_source: int = 4
    # FAQ rows that name their basis (a 該当箇所 / 根拠 column holding a section path) bring that
    # section's chunk into the top-k (placed before the row, see `basis_first`), so answers rest
    # on the primary document too.
    expand_faq_basis: bool = True
    # Which chunks stand for a basis path: "section" (that heading only), "sub" (+ its
    # subsections), "parent" (+ the enclosing heading), "siblings" (+ everything under the
    # enclosing heading). Among them the one this query's candidate lists rank best is taken
    # (else the section's first chunk); at most `basis_max` per FAQ row.
    basis_scope: str = "siblings"
    basis_max: int = 1
    basis_own_first: bool = True
    # How FAQ rows with a basis share the top-k with document chunks (see `basis.arrange`; 0 = no
    # limit). Chosen by bench/retrieval.py on the seed set + distractors: MRR@10 0.774 -> 0.841.
    basis_first: bool = True
    faq_slots: int = 1
    # Second stage over the head of the fused list (hybrid mode): the question's key terms,
    # headings and best sentence (see rescoring.py).
    rescore_params: RescoreParams = RescoreParams()

    _handle: Any = PrivateAttr(default=None)
    _reachability: Any = PrivateAttr(default=None)  # logs a Chroma outage once across re-opens
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _pool: Any = PrivateAttr(default=None)
    _basis_cache: dict = PrivateAttr(default_factory=dict)  # section -> chunks, per index generation
    _feature_cache: dict = PrivateAttr(default_factory=dict)  # (chunk, focus) -> rescoring features

    @model_validator(mode="after")
    def _check(self) -> "HybridRetriever":
        if self.settings is None:
            raise ValueError("HybridRetriever needs the settings that locate the index: "
                             "HybridRetriever(settings=Settings(...)) or "
                             "HybridRetriever.from_settings(settings)")
        _check_k(self.k)
        if self.mode not in MODES:
            raise ValueError(f"unknown retrieval mode {self.mode!r}; use one of {MODES}")
        return self

    @classmethod
    def from_settings(cls, settings, **overrides) -> "HybridRetriever":
        return cls(settings=settings, **overrides)

    # ---- index access --------------------------------------------------------------------
    def handle(self):
        """The index handle, opened on first use and refreshed when ingest changed it."""
        from ingest.errors import IndexMissing, IndexUnavailable
        from ingest.index import Reachability, open_index

        with self._lock:
            try:
                if self._handle is None:
                    if self._reachability is None:
                        self._reachability = Reachability("Chroma server")
                    self._handle = open_index(self.settings, reachability=self._reachability)
                elif self._handle.refresh_if_changed():
                    self._basis_cache.clear()
            except IndexMissing as exc:
                self._handle = None
                raise KnowledgeBaseMissing(str(exc)) from exc
            except IndexUnavailable as exc:
                self._handle = None
                raise KnowledgeBaseUnavailable(str(exc)) from exc
            return self._handle

    def _executor(self) -> ThreadPoolExecutor:
        # One dense search per concurrent question (query embeddings are single-threaded, see
        # ingest.embeddings): one shared thread made a burst's questions queue behind each other.
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=DENSE_THREADS,
                                                thread_name_prefix="dense-search")
        return self._pool

    # ---- search ----------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, doc_type: str | None = None,
               mode: str | None = None, focus: str | None = None) -> Ranked:
        """Top-k passages for `query`. `focus`: the question the rescoring judges passages by
        when `query` carries more (a follow-up retrieved with the conversation's earlier
        question); default the query itself."""
        from ingest.errors import IndexMissing, IndexUnavailable

        k = self.k if k is None else _check_k(k)
        mode = mode or self.mode
        doc_type = doc_type if doc_type is not None else self.doc_type
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {MODES}")
        from bot.pii.spans import strip_placeholders

        query = strip_placeholders(query or "").strip()
        focus = strip_placeholders(focus) if focus else focus
        if not query:
            return Ranked()
        handle = self.handle()
        n = max(self.params.n_candidates, k)
        try:
            dense: list = []
            lexical: list = []
            if mode == "hybrid":
                # The dense search (query embedding + Chroma) runs beside the BM25 search.
                future = self._executor().submit(handle.dense_search, query, n, doc_type)
                lexical = handle.lexical_search(query, n, doc_type)
                dense = future.result()
            elif mode == "dense":
                dense = handle.dense_search(query, n, doc_type)
            else:
                lexical = handle.lexical_search(query, n, doc_type)
            # the chunk lookups of the assembly reach Chroma too
            return self._assemble(handle, dense, lexical, k, mode, doc_type, focus=focus or query)
        except IndexMissing as exc:
            raise KnowledgeBaseMissing(str(exc)) from exc
        except IndexUnavailable as exc:
            raise KnowledgeBaseUnavailable(str(exc)) from exc

    def _assemble(self, handle, dense: list, lexical: list, k: int, mode: str,
                  doc_type: str | None = None, focus: str | None = None) -> list[Passage]:
        # dense: DenseHit(chunk_id, similarity, text, metadata); lexical: LexicalHit(chunk_id,
        # score) (ingest.index); plain tuples of the same shape work too (cached bench lists).
        # A chunk deleted since this process loaded the index (another process's ingest or FAQ
        # sync, just before the reload) comes back without its text: it is left out entirely.
        dense = [hit for hit in dense if hit[2] is not None]
        dense_ids = [hit[0] for hit in dense]
        dense_sim = {hit[0]: float(hit[1]) for hit in dense}
        bm25 = {cid: float(score) for cid, score in lexical}
        texts: dict[str, tuple[str, dict]] = {hit[0]: (hit[2], dict(hit[3] or {})) for hit in dense}
        if mode == "hybrid":
            fused = hybrid_fuse([(hit[0], float(hit[1])) for hit in dense], lexical, self.params)
        elif mode == "dense":
            fused = [(cid, dense_sim[cid]) for cid in dense_ids]
        else:
            fused = [(cid, score) for cid, score in lexical]
        # Fetch texts only for the head of the list (enough to survive duplicate collapse).
        depth = max(3 * k, k + 10, self.rescore_params.depth)
        missing = [cid for cid, _ in fused[:depth] if cid not in texts]
        if missing:
            texts.update({cid: (t, dict(m or {})) for cid, (t, m) in handle.get_chunks(missing).items()
                          if t is not None})
        if mode == "hybrid" and focus and self.rescore_params.active:
            fused = self._rescore(fused, texts, focus)
        head = [cid for cid, _ in fused[: max(3 * k, k + 10)]]
        score = dict(fused)
        kept = collapse_near_duplicates(
            ((cid, split_heading(*texts[cid])) for cid in head if cid in texts), len(head),
            self.dedupe_threshold)
        if self.expand_faq_basis:
            rank = {cid: i for i, (cid, _) in enumerate(fused)}
            kept = expand_basis(handle, kept, texts, score, k, cache=self._basis_cache,
                                scope=self.basis_scope, per_row=self.basis_max,
                                own_first=self.basis_own_first, basis_first=self.basis_first,
                                faq_slots=self.faq_slots, doc_type=doc_type, rank=rank,
                                terms=Focus.of(focus).terms if focus else ())
        kept = diversify(kept, lambda cid: str(texts[cid][1].get("source", "")), k, self.max_per_source)
        out = Ranked()
        out.best_dense = max(dense_sim.values(), default=None) if mode != "bm25" else None
        for cid in kept:
            text, meta = texts[cid]
            out.append(Passage(
                chunk_id=cid,
                text=split_heading(text, meta),
                source=str(meta.get("source", "")),
                title=str(meta.get("title", "")),
                section=str(meta.get("section", "")),
                page=page_of(meta.get("page")),
                doc_type=str(meta.get("doc_type", "other")),
                score=float(score[cid]),
                dense_score=dense_sim.get(cid),
                bm25_score=bm25.get(cid),
                basis=basis_of(meta),
                external=str(meta["external"]) if meta.get("external") else None,
            ))
        return out

    def _rescore(self, fused: list, texts: dict, focus: str) -> list:
        from ingest.tokenizer import tokenize

        if len(self._feature_cache) > 20000:
            self._feature_cache.clear()
        bodies = {cid: (split_heading(*texts[cid]), texts[cid][1])
                  for cid, _ in fused[: self.rescore_params.depth] if cid in texts}
        return rescore(fused, bodies, Focus.of(focus), self.rescore_params, tokenize,
                       self._feature_cache)

    def timed_search(self, query: str, **kw) -> tuple[list[Passage], float]:
        start = time.perf_counter()
        passages = self.search(query, **kw)
        return passages, (time.perf_counter() - start) * 1000.0

    # ---- evidence ----------------------------------------------------------------------------
    def evidence_features(self, query: str, passages: list[Passage]) -> tuple[float, float]:
        from ingest.tokenizer import tokenize

        return self.evidence_model.features(query, passages, tokenize,
                                            best_dense=getattr(passages, "best_dense", None))

    def evidence(self, query: str, passages: list[Passage]) -> float:
        """0..1: how strongly the passages support answering `query` (>= threshold: answer)."""
        dense, cov = self.evidence_features(query, passages)
        return self.evidence_model.score(dense, cov)

    def is_covered(self, evidence: float) -> bool:
        return evidence >= self.evidence_model.threshold

    # ---- LangChain -------------------------------------------------------------------------
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, doc_type: str | None = None,
                                mode: str | None = None) -> list[Document]:
        """`retriever.invoke(q, k=1, doc_type="faq", mode="bm25")`: the keywords of `search`."""
        return [to_document(p) for p in self.search(query, k=k, doc_type=doc_type, mode=mode)]


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (the number of passages to return) must be a positive integer, got {k!r}")
    return k
