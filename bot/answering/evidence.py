"""Evidence strength: does the knowledge base actually cover the question?

Two signals from the retrieved passages, combined by a logistic model whose coefficients were
fitted by `bench/retrieval.py` on the in-scope seed set (`tests/eval/seed_qa.jsonl`) and the
out-of-scope set (`tests/eval/out_of_scope.jsonl`), against the bundled knowledge base plus
thousands of distractor chunks:

- `dense`: the best cosine similarity (e5 `query:` vs `passage:`) the dense search found;
- `coverage`: the share of the question's content words found in the top passages.

The result is a probability-like score in 0..1; `EvidenceModel.threshold` decides answered vs
declined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from bot.domain import Passage

# Content words that say nothing about the topic ("教えてください", "どうすればいい" ...), in the
# tokenizer's normalised form (kana folded to hiragana).
GENERIC_TOKENS = frozenset("""
する ある いる なる できる 出来る いう 言う 教える 下さる くださる 知る 思う 考える いい 良い よい
こと もの ため よう どう 何 なに なん どこ いつ 誰 だれ どれ どの どんな どういう どうやって 方法 やり方
場合 について 関する 今 今後 最近 気 点 分 中 時 後 前 次 です ます ください もらえる 受ける 使う
行う やる 見る 来る 行く 持つ 出る 入る 取る 方 等 など 上 下 私 うち 町 市 村 当 本
""".split())


def content_tokens(tokens: Sequence[str]) -> list[str]:
    out = []
    for tok in tokens:
        if tok in GENERIC_TOKENS:
            continue
        if len(tok) == 1 and "\u3040" <= tok <= "\u309f":  # single hiragana
            continue
        if tok.isdigit():
            continue
        out.append(tok)
    return out


def coverage(query_tokens: Sequence[str], passage_tokens: Sequence[Sequence[str]]) -> float:
    """Share of distinct content words of the query that occur in any of the passages, weighted
    by token length (longer words carry more meaning than 1-character ones)."""
    q = set(content_tokens(query_tokens))
    if not q:
        return 0.0
    present: set[str] = set()
    for toks in passage_tokens:
        present.update(toks)
    weight = lambda t: min(len(t), 4)  # noqa: E731
    total = sum(weight(t) for t in q)
    return sum(weight(t) for t in q if t in present) / total


@dataclass(frozen=True)
class EvidenceModel:
    """logit = w_dense * (dense - dense_center) + w_coverage * (coverage - coverage_center).

    Calibrated by `bench/retrieval.py` (bundled KB + 5,056-chunk distractor index, 50 in-scope /
    24 out-of-scope questions): in-scope best dense similarity min/median 0.870/0.909,
    out-of-scope median/max 0.855/0.906; a logistic fit gives the coverage a weight of about -1
    (no help once distractors are indexed), so coverage is kept as a reported feature with weight
    0. The dense centre 0.879 (threshold 0.5) answers 96% in-scope and declines 91.7%
    out-of-scope there; on the held-out sets (30 / 15 questions, never used to fit) it answers
    96.7% and declines 86.7% (the two answered are municipal-tax questions that the distractor
    newsletters touch on).
    """

    w_dense: float = 60.0
    dense_center: float = 0.879
    w_coverage: float = 0.0
    coverage_center: float = 0.5
    threshold: float = 0.5
    top_n: int = 5              # passages considered

    def score(self, dense: float, cov: float) -> float:
        logit = self.w_dense * (dense - self.dense_center) + self.w_coverage * (cov - self.coverage_center)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))

    def features(self, query: str, passages: Sequence[Passage],
                 tokenize: Callable[[str], list[str]],
                 best_dense: float | None = None) -> tuple[float, float]:
        """`best_dense`: the dense search's best similarity for the query, when known (it may
        belong to an FAQ row placed after the top-k); else the best among the passages."""
        top = list(passages[: self.top_n])
        if not top:
            return 0.0, 0.0
        dense = max((p.dense_score for p in top if p.dense_score is not None), default=0.0)
        if best_dense is not None:
            dense = max(dense, best_dense)
        cov = coverage(tokenize(query), [tokenize(f"{p.title} {p.section} {p.text}") for p in top])
        return dense, cov
