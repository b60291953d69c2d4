"""Honest partial answers: which of the question's key terms do the cited passages mention?

「国民健康保険税の税率改定の手続きを教えて」 may retrieve newsletter sentences about 国民健康保険
cards: similar, but 税率改定 is in none of them. The answerer checks the question's own key terms
(`followup.terms(question).key_terms`: its content nouns as whole compounds, Sudachi mode C)
against the passages it would cite:

- a term counts as covered when the passages contain it (NFKC), or contain every one of its
  parts (Sudachi mode A, normalised: 「税率改定」 needs both 税率 and 改定);
- when at least `decline_share` of the terms (weighted by length) are missing, the question is
  declined, whatever the dense similarity said;
- when some are missing, the answer is given for the covered part and says plainly which terms
  the documents do not mention (`partial_note`).

Thresholds were chosen on the tuning sets (seed / out-of-scope / conversations) with the
distractor corpus in the index; see `bench/retrieval.py` for the decline rates.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from bot.domain import Passage


@dataclass(frozen=True)
class Coverage:
    terms: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def topic_terms(self) -> tuple[str, ...]:
        from bot.answering.followup import is_facet

        return tuple(t for t in self.terms if not is_facet(t))

    @property
    def missing_share(self) -> float:
        """Share (by length) of the question's topic terms that no passage mentions. Facets
        (締切, 費用 …) do not count: a question about a covered programme's deadline is
        answered with what the documents say, and the note names the missing facet."""
        topics = self.topic_terms
        total = sum(_weight(t) for t in topics)
        return sum(_weight(t) for t in topics if t in self.missing) / total if total else 0.0


def _weight(term: str) -> int:
    return min(len(term), 4)


def _fold(text: str) -> str:
    from ingest.tokenizer import fold_kana

    return fold_kana(unicodedata.normalize("NFKC", text or "")).lower()


def check(terms: Sequence[str], passages: Sequence[Passage]) -> Coverage:
    """Which of `terms` the passages (title, section and text) leave unmentioned."""
    from bot.answering.followup import DOMAIN_WORDS
    from ingest.tokenizer import tokenize

    terms = tuple(dict.fromkeys(t for t in terms if t))
    if not terms:
        return Coverage((), ())
    hay = _fold(" ".join(f"{p.title} {p.section} {p.text}" for p in passages))
    hay_tokens = set(tokenize(hay))
    missing = []
    for term in terms:
        if _fold(term) in hay:
            continue
        parts = [t for t in tokenize(term) if t not in DOMAIN_WORDS]
        if parts and all(p in hay_tokens for p in parts):
            continue
        missing.append(term)
    return Coverage(terms, tuple(missing))


@dataclass(frozen=True)
class CoveragePolicy:
    """When the missing key terms decline a question, and when they are named in a note.

    `decline_share` None: never decline on coverage (a standalone question: its own evidence
    decided already). Measured with the distractor corpus in the index (bench/retrieval.py),
    officers' in-scope paraphrases miss words too (姿勢, 立場, IT の専門家 for アドバイザー): half of
    the tuning questions have a topic term no passage uses, six have none covered, while
    out-of-scope questions often find theirs in newsletters (札幌, 頭痛). So the lexical check
    declines only where the conversation lent the evidence (follow-ups, `decline_share` 0.5, and
    the retry of a question that failed alone, every topic term required); elsewhere it names
    what is missing (`note_share`: topic terms when at least that share is missing; a missing
    facet such as 締切 or 費用 always)."""

    decline_share: float | None = 0.5
    note_share: float = 0.5

    def standalone(self) -> "CoveragePolicy":
        return CoveragePolicy(decline_share=None, note_share=self.note_share)

    def strict(self) -> "CoveragePolicy":
        """Every topic term must be covered (a question read in the conversation only because
        it did not stand on its own)."""
        return CoveragePolicy(decline_share=1e-9, note_share=self.note_share)

    def declines(self, cov: Coverage) -> bool:
        return (self.decline_share is not None and bool(cov.topic_terms)
                and cov.missing_share >= self.decline_share)

    def noted(self, cov: Coverage) -> tuple[str, ...]:
        """The terms the answer's note names (empty: no note)."""
        if self.declines(cov) or not cov.missing:
            return ()
        topics = set(cov.topic_terms)
        facets = [t for t in cov.missing if t not in topics]
        if cov.missing_share >= self.note_share:
            return cov.missing
        return tuple(facets)
