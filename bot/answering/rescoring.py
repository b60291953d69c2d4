"""Second-stage rescoring of the fused candidates: signals the fusion does not see.

Dense and BM25 rank whole chunks against the whole query. The right passage is usually in the top
five but often not first (seed set R@5 0.96, R@1 0.80), and the first passage decides the first
quote. The head of the fused list is rescored with three cheap, local signals of the QUESTION
(for a follow-up: the new question, not the conversation text it was retrieved with):

- `terms`: the share of the question's key terms (`followup.terms().key_terms`, whole compounds,
  weighted by length) the passage mentions;
- `title`: the share of them its heading names (the last heading of its section path, or for an
  FAQ row the question it answers), so 「地域おこし協力隊の…」 favours 「(3) 地域おこし協力隊へのサポート」;
- `sentence`: the best single sentence's share of the question's content words (a passage whose
  one sentence answers beats one that mentions the words far apart).

score' = fused + w_terms * terms + w_title * title + w_sentence * sentence, for the first `depth`
candidates; the rest keep their order below. Weights chosen on the seed tuning set with the
distractor index (bench/retrieval.py --rescore-sweep); the held-out set is only reported.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

PHRASES = True
_FAQ_Q_PREFIXES = ("Q:", "Q：", "Ｑ:", "Ｑ：")


@dataclass(frozen=True)
class RescoreParams:
    depth: int = 10
    w_terms: float = 0.04
    w_title: float = 0.02
    w_sentence: float = 0.02

    @property
    def active(self) -> bool:
        return self.depth > 1 and bool(self.w_terms or self.w_title or self.w_sentence)

    def describe(self) -> str:
        return (f"depth={self.depth} w_terms={self.w_terms} w_title={self.w_title} "
                f"w_sentence={self.w_sentence}")


@dataclass(frozen=True)
class Focus:
    """What the rescoring compares passages with: the question's key terms (surface compounds)
    and its content tokens (normalised, as the BM25 index has them)."""

    terms: tuple[str, ...]
    tokens: frozenset[str]
    # noun phrases Sudachi splits (「人的支援」): they count only where written whole
    phrases: tuple[str, ...] = ()

    @classmethod
    def of(cls, question: str) -> "Focus":
        from bot.answering.evidence import content_tokens
        from bot.answering.followup import phrases, terms
        from ingest.tokenizer import tokenize

        key = terms(question).key_terms
        extra = tuple(p for p in phrases(question) if p not in key) if PHRASES else ()
        return cls(key, frozenset(content_tokens(tokenize(question))), extra)


def _fold(text: str) -> str:
    from ingest.tokenizer import fold_kana

    return fold_kana(unicodedata.normalize("NFKC", text or "")).lower()


def _weight(term: str) -> int:
    return min(len(term), 4)


def heading_of(text: str, metadata: dict) -> str:
    """The heading a passage stands under: the FAQ question it answers, else the last heading of
    its section path (the basis section of an FAQ row without a Q line)."""
    body = text.split("\n", 2)
    for line in body[:2]:
        if line.strip().startswith(_FAQ_Q_PREFIXES):
            return line.strip()[2:]
    section = str(metadata.get("section") or "")
    return section.split(" > ")[-1] if section else str(metadata.get("title") or "")


def term_share(terms: Sequence[str], hay: str, hay_tokens: set[str],
               tokenize: Callable[[str], list[str]], phrases: Sequence[str] = ()) -> float:
    """Share (by length) of `terms` that `hay` mentions, whole or by all of their parts, and of
    `phrases`, whole only."""
    total = sum(_weight(t) for t in terms) + sum(_weight(p) for p in phrases)
    if not total:
        return 0.0
    got = sum(_weight(p) for p in phrases if _fold(p) in hay)
    for term in terms:
        if _fold(term) in hay:
            got += _weight(term)
            continue
        parts = tokenize(term)
        if parts and all(p in hay_tokens for p in parts):
            got += _weight(term)
    return got / total


def mentioned(terms: Sequence[str], text: str, tokenize: Callable[[str], list[str]]) -> set[str]:
    """The `terms` that `text` mentions (whole, or by all of their parts)."""
    hay = _fold(text)
    hay_tokens = set(tokenize(hay))
    out = set()
    for term in terms:
        parts = tokenize(term)
        if _fold(term) in hay or (parts and all(p in hay_tokens for p in parts)):
            out.add(term)
    return out


def best_sentence_share(tokens: frozenset[str], sentences: Sequence[str],
                        tokenize: Callable[[str], list[str]]) -> float:
    total = sum(_weight(t) for t in tokens)
    if not total:
        return 0.0
    best = 0
    for sentence in sentences:
        toks = set(tokenize(sentence))
        best = max(best, sum(_weight(t) for t in tokens & toks))
    return best / total


def features(focus: Focus, text: str, metadata: dict,
             tokenize: Callable[[str], list[str]]) -> tuple[float, float, float]:
    from bot.answering.extractive import split_sentences

    heading = heading_of(text, metadata)
    hay = _fold(f"{metadata.get('section', '')}\n{text}")
    hay_tokens = set(tokenize(hay))
    terms = term_share(focus.terms, hay, hay_tokens, tokenize, focus.phrases)
    head = _fold(heading)
    title = term_share(focus.terms, head, set(tokenize(head)), tokenize, focus.phrases) if head else 0.0
    sentence = best_sentence_share(focus.tokens, split_sentences(text), tokenize)
    return terms, title, sentence


def rescore(fused: Sequence[tuple[str, float]], texts: dict[str, tuple[str, dict]], focus: Focus,
            params: RescoreParams, tokenize: Callable[[str], list[str]],
            cache: dict | None = None) -> list[tuple[str, float]]:
    """`fused` best-first (id, score); `texts` id -> (text, metadata) for at least the head.
    Returns the list re-ordered: the head rescored, the rest unchanged after it."""
    if not params.active or not (focus.terms or focus.tokens or focus.phrases):
        return list(fused)
    head = [(cid, s) for cid, s in fused[: params.depth] if cid in texts]
    if len(head) < 2:
        return list(fused)
    scored = []
    for order, (cid, s) in enumerate(head):
        key = (cid, focus)
        f = cache.get(key) if cache is not None else None
        if f is None:
            f = features(focus, texts[cid][0], texts[cid][1], tokenize)
            if cache is not None:
                cache[key] = f
        bonus = params.w_terms * f[0] + params.w_title * f[1] + params.w_sentence * f[2]
        scored.append((s + bonus, order, cid))
    scored.sort(key=lambda x: (-x[0], x[1]))
    moved = {cid for _, _, cid in scored}
    return [(cid, s) for s, _, cid in scored] + [(cid, s) for cid, s in fused if cid not in moved]
