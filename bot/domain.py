"""Plain data passed between the services (retrieval -> answering -> cases -> Slack/CLI).

These shapes are the contract between modules: keep them small and add fields with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AnswerMode = Literal["llm", "extractive", "none"]


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of the knowledge base."""

    chunk_id: str
    text: str
    source: str                 # path relative to the knowledge dir
    title: str
    section: str                # heading path "VI 市町村戦略支援 > 1 財政的支援 > (1) ..."
    page: int | None
    doc_type: str               # strategy / rules / faq / other
    score: float                # fused score (higher is better)
    dense_score: float | None = None   # cosine similarity, if the dense search found it
    bm25_score: float | None = None    # BM25 score, if the lexical search found it
    basis: str | None = None           # FAQ row: the section path it rests on (its 該当箇所 column)
    external: str | None = None        # not from a file: "staff-faq" = an approved staff answer


@dataclass(frozen=True)
class HistoryTurn:
    """A previous question/answer of the same consultation (already masked)."""

    question: str
    answer: str
    answered: bool = True            # False: the bot declined (out of scope); never a follow-up's referent


@dataclass
class Answer:
    """What the answerer produced for one question."""

    text: str                        # plain text with [n] citations; NOT escaped for Slack
    answered: bool                   # False: evidence too weak, declined honestly
    mode: AnswerMode
    sources: list[Passage] = field(default_factory=list)   # [n] refers to sources[n-1]
    model: str | None = None
    prompt_version: str | None = None
    evidence: float = 0.0            # evidence strength, 0..1
    latency_ms: int = 0
    fallback_reason: str | None = None   # e.g. "llm_timeout", "llm_error", "no_valid_citation"
    standalone_question: str | None = None  # condensed follow-up question used for retrieval
    uncovered: list[str] = field(default_factory=list)  # key terms of the question no cited passage mentions


@dataclass(frozen=True)
class Requester:
    user_id: str                     # Slack user id, or "console:<login>" / "cli:<login>"
    display_name: str | None = None
    municipality: str | None = None


@dataclass(frozen=True)
class Conversation:
    """Where a consultation lives. One case per conversation key."""

    kind: Literal["slack", "console", "cli"]
    workspace: str | None = None     # Slack team id
    channel: str | None = None       # Slack channel id (C…/D…)
    thread_ts: str | None = None     # Slack thread root ts; console: session id

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.workspace or '-'}:{self.channel or '-'}:{self.thread_ts or '-'}"


@dataclass(frozen=True)
class Inquiry:
    """One question arriving from any surface."""

    question: str
    conversation: Conversation
    requester: Requester
    dedupe_key: str | None = None    # Slack event_id / client_msg_id; retried deliveries share it


@dataclass
class ConsultResult:
    case_id: int | None
    case_ref: str | None             # e.g. "相談#12"; None only when the database was down
    answer: Answer
    duplicate: bool = False          # the dedupe key was seen before: nothing was answered again
    pii_kinds: list[str] = field(default_factory=list)   # e.g. ["my_number", "phone", "email"]
    reopened: bool = False
    turn_id: int | None = None
