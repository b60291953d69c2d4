"""Pure helpers of hybrid retrieval: weighted reciprocal-rank fusion and near-duplicate collapse.

Kept free of I/O so they are unit-tested directly and reused by the benchmark's parameter sweep.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class FusionParams:
    """Weights and depth of the fusion, chosen by `bench/retrieval.py --sweep` (245 combinations of
    rrf_k x BM25 weight x N on cached candidate lists). JSQuAD test: rrf_k=5, w_bm25=2.0, N=30 was
    best (R@5 0.9762 / MRR@10 0.9287 vs 0.9710 / 0.9097 for the usual 60/1/1); on the seed set +
    5,056-chunk distractor index rrf_k 5-10 with w_bm25=2.0 led (R@5 0.84 raw fusion vs 0.78 for
    60/1/1). Flat in N from 20 up."""

    rrf_k: int = 5
    dense_weight: float = 1.0
    bm25_weight: float = 2.0
    n_candidates: int = 30      # N: depth of each list before fusion

    def describe(self) -> str:
        return (f"rrf_k={self.rrf_k} w_dense={self.dense_weight} w_bm25={self.bm25_weight} "
                f"N={self.n_candidates}")


def rrf_fuse(ranked_lists: Sequence[tuple[Sequence[str], float]], rrf_k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion.

    `ranked_lists` is a sequence of (ids best-first, weight). Each id scores
    sum(weight / (rrf_k + rank)) with rank starting at 1. Returns (id, score) best-first; ties keep
    the order of first appearance (the first list wins), so the result is deterministic.
    """
    scores: dict[str, float] = {}
    order: dict[str, int] = {}
    for ids, weight in ranked_lists:
        if weight <= 0:
            continue
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (rrf_k + rank)
            order.setdefault(cid, len(order))
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


def shingles(text: str, n: int = 3) -> frozenset[str]:
    norm = _normalise(text)
    if len(norm) <= n:
        return frozenset({norm}) if norm else frozenset()
    return frozenset(norm[i:i + n] for i in range(len(norm) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def collapse_near_duplicates(items: Iterable[tuple[str, str]], limit: int,
                             threshold: float = 0.85) -> list[str]:
    """Keep ids best-first, dropping any whose text is a near-duplicate (character 3-gram Jaccard
    >= threshold) of an id already kept. `items` is (id, text) best-first; stops at `limit` ids."""
    kept: list[tuple[str, frozenset[str]]] = []
    for cid, text in items:
        sh = shingles(text)
        if any(jaccard(sh, other) >= threshold for _, other in kept):
            continue
        kept.append((cid, sh))
        if len(kept) >= limit:
            break
    return [cid for cid, _ in kept]
