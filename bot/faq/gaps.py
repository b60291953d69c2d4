"""The knowledge-gap report: what officers asked that the knowledge base does not answer, grouped
into topics, largest first — what the maintainers should write next.

Questions (masked, as stored): turns the bot declined or failed on, turns that got 👎, and the
question before each 「職員に相談する」 — since a date (default: the last 90 days).

Topics: the questions' e5 embeddings (``query:``, from the embedding cache through
``SimilarCases.vectors``) clustered by scikit-learn's ``AgglomerativeClustering`` (cosine
distance, average linkage, cut at ``DISTANCE``: no number of topics to guess). Each topic gets:

- a Japanese label: its most characteristic key terms — class-based TF-IDF (one document per
  topic) over the project's Sudachi tokens (``ingest.tokenizer``), generic words left out;
- its count, up to five example questions (closest to the topic's centre first), municipalities;
- the nearest section of the knowledge base: the best-ranked section (the retriever, asked the
  topic's central question) that mentions one of its key terms, or none;
- whether an approved FAQ entry now covers it: the retriever, asked the topic's central question,
  returns an entry with enough evidence to answer.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import EscalationReason, EventKind
from bot.faq.index import entry_id_of_source

log = logging.getLogger(__name__)

# Cosine distance at which two groups of questions stop merging (average linkage). Chosen on
# tests/eval/knowledge_loop.jsonl by bench/knowledge_loop.py (purity and topic count printed).
DISTANCE = 0.12
DEFAULT_DAYS = 90
EXAMPLES = 5
LABEL_TERMS = 3
MAX_QUESTIONS = 5000


@dataclass(frozen=True)
class GapQuestion:
    turn_id: int
    case_id: int
    question: str
    municipality: str | None
    reason: str            # "declined" | "negative_feedback" | "requested"
    at: datetime


@dataclass(frozen=True)
class GapTopic:
    label: str
    count: int
    questions: tuple[str, ...]               # examples, most central first
    municipalities: tuple[str, ...]
    nearest_section: str | None
    nearest_similarity: float | None
    covered_by_faq: bool
    faq_entry_id: int | None = None
    case_ids: tuple[int, ...] = ()
    members: tuple[int, ...] = field(default=(), repr=False)   # indexes into the questions

    def to_json(self) -> dict:
        return {"label": self.label, "count": self.count, "questions": list(self.questions),
                "municipalities": list(self.municipalities),
                "nearest_section": self.nearest_section, "covered_by_faq": self.covered_by_faq}


@dataclass(frozen=True)
class GapReport:
    since: datetime | None
    topics: tuple[GapTopic, ...]
    questions: int

    def to_json(self) -> dict:
        from bot.faq.views import JST

        since = self.since.astimezone(JST).date().isoformat() if self.since else None
        return {"since": since, "topics": [t.to_json() for t in self.topics]}


def default_since(now: datetime | None = None) -> datetime:
    return (now or datetime.now(timezone.utc)) - timedelta(days=DEFAULT_DAYS)


# ---- the questions ------------------------------------------------------------------------------
def collect(store, since: datetime | None) -> list[GapQuestion]:
    def work(s: Session, now) -> list[GapQuestion]:
        found: dict[int, GapQuestion] = {}
        stmt = (select(TurnRow, CaseRow.municipality).join(CaseRow, CaseRow.id == TurnRow.case_id)
                .where((TurnRow.answered.is_(False)) | (TurnRow.feedback == "down")))
        if since is not None:
            stmt = stmt.where(TurnRow.created_at >= since)
        for turn, municipality in s.execute(stmt.order_by(TurnRow.id.desc()).limit(MAX_QUESTIONS)):
            reason = "negative_feedback" if turn.feedback == "down" else "declined"
            found[turn.id] = GapQuestion(turn.id, turn.case_id, turn.question, municipality,
                                         reason, turn.created_at)
        events = select(EventRow).where(EventRow.kind == EventKind.ESCALATED.value)
        if since is not None:
            events = events.where(EventRow.created_at >= since)
        for event in s.scalars(events.order_by(EventRow.id.desc()).limit(MAX_QUESTIONS)):
            if (event.data or {}).get("reason") != EscalationReason.REQUESTED.value:
                continue
            row = s.execute(select(TurnRow, CaseRow.municipality)
                            .join(CaseRow, CaseRow.id == TurnRow.case_id)
                            .where(TurnRow.case_id == event.case_id,
                                   TurnRow.created_at <= event.created_at)
                            .order_by(TurnRow.id.desc()).limit(1)).first()
            if row is not None and row[0].id not in found:
                turn, municipality = row
                found[turn.id] = GapQuestion(turn.id, turn.case_id, turn.question, municipality,
                                             "requested", turn.created_at)
        return sorted(found.values(), key=lambda q: q.turn_id)

    return store._run(work)


# ---- clustering and labels ----------------------------------------------------------------------
def cluster(vectors: np.ndarray, distance: float = DISTANCE) -> np.ndarray:
    """Topic number of each (unit) vector: agglomerative clustering, cosine, average linkage."""
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance,
                                    metric="cosine", linkage="average")
    return model.fit_predict(vectors)


def key_terms(texts_by_topic: list[list[str]], n: int = LABEL_TERMS) -> list[list[str]]:
    """The most characteristic terms of each topic, as written (see `topic_terms`)."""
    return [[surface for _, surface in pairs] for pairs in topic_terms(texts_by_topic, n)]


def topic_terms(texts_by_topic: list[list[str]],
                n: int = LABEL_TERMS) -> list[list[tuple[str, str]]]:
    """The most characteristic terms of each topic: class-based TF-IDF (each topic's questions
    as one document) over the nouns Sudachi finds (``ingest.tokenizer.morphemes``, mode C: whole compounds), generic words
    left out. Each term as (normalised form, most frequent written form)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.answering.evidence import GENERIC_TOKENS
    from ingest.tokenizer import morphemes

    surfaces: dict[str, Counter] = {}

    def analyse(text: str) -> list[str]:
        keys = []
        for m in morphemes(text, compounds=True):
            if m.pos[0] != "名詞":
                continue
            key, surface = m.form, m.surface
            if key in GENERIC_TOKENS or key.isdigit() or len(key) < 2:
                continue
            surfaces.setdefault(key, Counter())[surface] += 1
            keys.append(key)
        return keys

    docs = ["\n".join(texts) for texts in texts_by_topic]
    vectorizer = TfidfVectorizer(analyzer=analyse, sublinear_tf=True, norm=None)
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:   # no terms at all
        return [[] for _ in docs]
    vocab = vectorizer.get_feature_names_out()
    df = np.asarray((matrix > 0).sum(axis=0)).ravel()
    out = []
    for i, texts in enumerate(texts_by_topic):
        row = matrix.getrow(i).toarray().ravel()
        # ties: terms in more of the topic's questions first, then rarer elsewhere, then longer
        spread = Counter(k for text in texts for k in set(analyse(text)))
        order = sorted(np.nonzero(row)[0],
                       key=lambda j: (-row[j], -spread[vocab[j]], df[j], -len(vocab[j])))
        out.append([(str(vocab[j]), surfaces[str(vocab[j])].most_common(1)[0][0])
                    for j in order[:n]])
    return out


def _label(terms: list[str], example: str) -> str:
    if terms:
        return "・".join(terms)
    text = " ".join(example.split())
    return text[:30] + ("…" if len(text) > 30 else "")


# ---- the report ---------------------------------------------------------------------------------
class GapReporter:
    def __init__(self, store, similar, retriever=None, *, distance: float = DISTANCE) -> None:
        """`similar`: the SimilarCases of the process (its embedding cache and memo);
        `retriever`: the HybridRetriever (nearest section, FAQ coverage), optional."""
        self.store = store
        self.similar = similar
        self.retriever = retriever
        self.distance = distance

    def report(self, since: datetime | None = None) -> GapReport:
        return self.report_on(collect(self.store, since), since)

    def report_on(self, questions: list[GapQuestion], since: datetime | None = None) -> GapReport:
        if not questions:
            return GapReport(since, (), 0)
        vectors = self.similar.vectors([q.question for q in questions], None)
        matrix = np.stack([vectors[q.question] for q in questions])
        labels = cluster(matrix, self.distance)
        groups: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            groups.setdefault(int(label), []).append(i)
        ordered = sorted(groups.values(), key=lambda members: (-len(members), members[0]))
        central = []
        for members in ordered:
            centre = matrix[members].mean(axis=0)
            centre /= np.linalg.norm(centre) or 1.0
            closeness = matrix[members] @ centre
            ranked = [members[j] for j in np.argsort(-closeness, kind="stable")]
            central.append(ranked)
        terms = topic_terms([[questions[i].question for i in ranked] for ranked in central])
        topics = []
        for ranked, words in zip(central, terms):
            examples = list(dict.fromkeys(" ".join(questions[i].question.split()) for i in ranked))
            places = Counter(questions[i].municipality for i in ranked if questions[i].municipality)
            section, similarity = self._nearest(examples[0], words)
            entry = self._covered(examples[0])
            topics.append(GapTopic(
                label=_label([surface for _, surface in words], examples[0]), count=len(ranked),
                questions=tuple(examples[:EXAMPLES]),
                municipalities=tuple(m for m, _ in places.most_common()),
                nearest_section=section, nearest_similarity=similarity,
                covered_by_faq=entry is not None, faq_entry_id=entry,
                case_ids=tuple(dict.fromkeys(questions[i].case_id for i in ranked)),
                members=tuple(ranked)))
        return GapReport(since, tuple(topics), len(questions))

    # ---- per topic ---------------------------------------------------------------------------
    def _nearest(self, question: str, terms: list[tuple[str, str]]) -> tuple[str | None, float | None]:
        """The best-ranked section of the knowledge base (the retriever, asked the topic's
        central question) that mentions one of the topic's key terms; None when none does."""
        if self.retriever is None or not terms:
            return None, None
        import unicodedata

        from ingest.tokenizer import fold_kana

        try:
            passages = self.retriever.search(question, k=10)
        except Exception as exc:   # no index: the report still groups the questions
            log.info("nearest sections not found (%s)", type(exc).__name__)
            return None, None
        for p in passages:
            if entry_id_of_source(p.source) is not None:
                continue
            section = p.basis if p.doc_type == "faq" else p.section
            if not section:
                continue
            text = f"{p.title} {p.section} {p.text}"
            folded = fold_kana(unicodedata.normalize("NFKC", text)).lower()
            if any(key in folded or surface in text for key, surface in terms):
                title = p.title if p.doc_type != "faq" else ""
                where = f"{title} › {section}" if title else section
                return where, None if p.dense_score is None else round(float(p.dense_score), 4)
        return None, None

    def _covered(self, question: str) -> int | None:
        """The approved entry the bot would answer this question from now, if any."""
        if self.retriever is None:
            return None
        try:
            passages = self.retriever.search(question, k=5)
            if not passages or not self.retriever.is_covered(self.retriever.evidence(question, passages)):
                return None
        except Exception as exc:
            log.info("FAQ coverage not checked (%s)", type(exc).__name__)
            return None
        return next((i for i in (entry_id_of_source(p.source) for p in passages) if i), None)
