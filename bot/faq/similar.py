"""Similar past cases: when staff open a case, up to three resolved cases and approved FAQ
entries whose (masked) question is closest to this case's, with their staff answers, so an
earlier answer can be the starting point of the reply.

Similarity: cosine of e5 embeddings of the two questions. Both sides are questions, so both get
the e5 ``query:`` prefix (the product embeds questions with ``query:`` and documents with
``passage:``; a question-to-question comparison is symmetric). Vectors come from the persistent
embedding cache (``CachedEmbeddings.embed_queries``) and a small in-memory memo, so an unchanged
question is embedded once, ever. A page view embeds at most ``EMBED_PER_VIEW`` new questions;
``warm()`` (run after each FAQ sync round) embeds the rest in the background.

Candidates (read at most once a minute): the latest ``MAX_CASES`` resolved cases with a staff
reply — the reply and the officer's question before it — and every approved entry.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import CaseStatus, EventKind, format_ref
from bot.faq.store import FaqStore
from bot.faq.views import format_faq_ref

log = logging.getLogger(__name__)

# Cosine of e5-small `query:` vectors of two questions. Measured on the knowledge-loop set
# (tests/eval/knowledge_loop.jsonl; bench/knowledge_loop.py prints the distribution): paraphrases
# of one topic score about 0.88-0.96, questions of different municipal topics 0.78-0.87.
THRESHOLD = 0.88
MAX_CASES = 2000
CANDIDATES_TTL_S = 60.0
EMBED_PER_VIEW = 8
WARM_PER_ROUND = 64
WARM_CHUNK = 8          # questions embedded between two looks at go_on() (about a second)
_MEMO_MAX = 50_000


@dataclass(frozen=True)
class Candidate:
    kind: str                # "case" | "faq"
    id: int                  # case id / entry id
    question: str            # masked
    answer: str              # the staff answer (masked)
    at: datetime | None      # resolved / approved
    label: str               # 相談#12 / FAQ#3


@dataclass(frozen=True)
class SimilarItem:
    candidate: Candidate
    similarity: float

    @property
    def kind(self) -> str:
        return self.candidate.kind

    @property
    def key(self) -> str:
        """What a "use this answer" link carries: ``case:12`` / ``faq:3``."""
        return f"{self.candidate.kind}:{self.candidate.id}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SimilarCases:
    def __init__(self, store, embeddings_factory, *, threshold: float = THRESHOLD,
                 max_cases: int = MAX_CASES) -> None:
        """`embeddings_factory()` -> a `CachedEmbeddings` (built on first use: the model loads
        only when a similarity is actually needed)."""
        self.store = store
        self.faq = FaqStore(store)
        self._factory = embeddings_factory
        self._embeddings = None
        self.threshold = threshold
        self.max_cases = max_cases
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = {}
        self._candidates: list[Candidate] = []
        self._loaded_at = 0.0
        self._signature_seen: tuple | None = None

    @classmethod
    def from_settings(cls, settings, store) -> "SimilarCases":
        from ingest.embeddings import make_embeddings

        return cls(store, lambda: make_embeddings(settings))

    # ---- candidates -------------------------------------------------------------------------
    def candidates(self, *, fresh: bool = False) -> list[Candidate]:
        """Read again when something happened since (a new case event — a reply, a resolution —
        or an FAQ change: two one-row queries), and at least every CANDIDATES_TTL_S."""
        signature = self._signature()
        with self._lock:
            if (fresh or signature != self._signature_seen
                    or time.monotonic() - self._loaded_at > CANDIDATES_TTL_S):
                self._candidates = self._read_candidates()
                self._loaded_at = time.monotonic()
                self._signature_seen = signature
            return self._candidates

    def _signature(self) -> tuple:
        from sqlalchemy import func

        latest = self.store._run(lambda s, now: s.scalar(select(func.max(EventRow.id))))
        return latest, self.faq.revision()

    def _read_candidates(self) -> list[Candidate]:
        def work(s: Session, now):
            rows = s.execute(
                select(EventRow.case_id, EventRow.text, EventRow.created_at, CaseRow.resolved_at)
                .join(CaseRow, CaseRow.id == EventRow.case_id)
                .where(EventRow.kind == EventKind.STAFF_REPLY.value,
                       CaseRow.status == CaseStatus.RESOLVED.value)
                .order_by(EventRow.id.desc()).limit(self.max_cases * 2)).all()
            latest: dict[int, tuple] = {}
            for case_id, text, created, resolved in rows:   # newest reply of each case
                if case_id not in latest and len(latest) < self.max_cases:
                    latest[case_id] = (text or "", created, resolved)
            out = []
            ids = list(latest)
            questions: dict[int, list[tuple[datetime, str]]] = {}
            for start in range(0, len(ids), 500):
                for case_id, created, question in s.execute(
                        select(TurnRow.case_id, TurnRow.created_at, TurnRow.question)
                        .where(TurnRow.case_id.in_(ids[start:start + 500])).order_by(TurnRow.id)):
                    questions.setdefault(case_id, []).append((created, question))
            for case_id, (answer, replied, resolved) in latest.items():
                asked = [q for at, q in questions.get(case_id, []) if at <= replied] or \
                    [q for _, q in questions.get(case_id, [])[:1]]
                if asked and answer.strip():
                    out.append(Candidate("case", case_id, asked[-1], answer, resolved,
                                         format_ref(case_id)))
            return out

        cases = self.store._run(work)
        entries = [Candidate("faq", e.id, e.question, e.answer, e.approved_at, format_faq_ref(e.id))
                   for e in self.faq.approved()]
        return entries + cases

    # ---- vectors ----------------------------------------------------------------------------
    def _emb(self):
        if self._embeddings is None:
            self._embeddings = self._factory()
        return self._embeddings

    def vectors(self, texts: list[str], budget: int | None) -> dict[str, np.ndarray]:
        """Unit vectors of the texts that are known or can be embedded within `budget`."""
        hashes = {t: _sha(t) for t in texts}
        missing = [t for t, h in hashes.items() if h not in self._memo]
        if missing:
            todo = missing if budget is None else missing[:budget]
            emb = self._emb()
            # the cache answers for all of them; the model only for those not cached
            known = emb._lookup([hashes[t] for t in missing], f"{emb.model_id}#query")
            for t in missing:
                if hashes[t] in known:
                    self._remember(hashes[t], known[hashes[t]])
            todo = [t for t in todo if hashes[t] not in self._memo]
            if todo:
                for t, v in zip(todo, emb.embed_queries(todo)):
                    self._remember(hashes[t], v)
        return {t: self._memo[h] for t, h in hashes.items() if h in self._memo}

    def _remember(self, h: str, vector) -> None:
        v = np.asarray(vector, dtype=np.float32)
        n = float(np.linalg.norm(v))
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[h] = v / n if n else v

    def vector(self, text: str) -> np.ndarray:
        return self.vectors([text], None)[text]

    # ---- the panel ----------------------------------------------------------------------------
    def similar(self, question: str, *, exclude_case: int | None = None,
                k: int = 3) -> list[SimilarItem]:
        question = (question or "").strip()
        if not question:
            return []
        pool = [c for c in self.candidates() if not (c.kind == "case" and c.id == exclude_case)]
        if not pool:
            return []
        vectors = self.vectors([question] + [c.question for c in pool], EMBED_PER_VIEW + 1)
        target = vectors.get(question)
        if target is None:
            return []
        scored = [(float(vectors[c.question] @ target), c) for c in pool if c.question in vectors]
        scored.sort(key=lambda sc: (-sc[0], sc[1].kind != "faq", -(sc[1].id)))
        return [SimilarItem(c, round(s, 4)) for s, c in scored[:k] if s >= self.threshold]

    def for_case(self, detail, k: int = 3) -> list[SimilarItem]:
        """Similar items for a case (its latest question)."""
        if not detail.turns:
            return []
        return self.similar(detail.turns[-1].question, exclude_case=detail.case.id, k=k)

    def answer_of(self, key: str) -> Candidate | None:
        """The candidate a "use this answer" link names (``case:12`` / ``faq:3``), only when it
        is still a candidate (a resolved case with a staff reply, an approved entry)."""
        kind, _, raw = (key or "").partition(":")
        if kind not in ("case", "faq") or not raw.isdigit():
            return None
        return next((c for c in self.candidates() if c.kind == kind and c.id == int(raw)), None)

    def warm(self, budget: int = WARM_PER_ROUND, *,
             go_on: Callable[[], bool] = lambda: True) -> int:
        """Embed up to `budget` candidate questions not embedded yet (background), WARM_CHUNK
        at a time, only while ``go_on()`` (the console process: no request in flight or
        recent — ``bot.activity``) so a person waiting for a page never competes with it."""
        before = len(self._memo)
        if not go_on():
            return 0
        questions = [c.question for c in self.candidates()]
        self.vectors(questions, 0)            # what the persistent cache knows: no model work
        embedded = 0
        while embedded < budget and go_on():
            chunk = [q for q in questions if _sha(q) not in self._memo]
            chunk = chunk[:min(WARM_CHUNK, budget - embedded)]
            if not chunk:
                break
            self.vectors(chunk, None)
            embedded += len(chunk)
        return len(self._memo) - before
