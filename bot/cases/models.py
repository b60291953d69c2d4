"""SQLAlchemy 2 ORM models of the case database. The schema is owned by the Alembic migrations
in ``bot/cases/migrations/versions`` (add-only); these models must always match their head.

ORM objects never leave ``bot.cases``: the store converts them into the frozen views of
``bot.cases.views``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.cases.db import UTCDateTime

VERSION_TABLE = "consult_alembic_version"


class Base(DeclarativeBase):
    pass


class CaseRow(Base):
    __tablename__ = "consult_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(64))
    requester_id: Mapped[str] = mapped_column(String(128), index=True)
    requester_name: Mapped[str | None] = mapped_column(String(255))
    municipality: Mapped[str | None] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    escalation_reason: Mapped[str | None] = mapped_column(String(64))
    programmes: Mapped[list[str] | None] = mapped_column(JSON)
    staff_channel: Mapped[str | None] = mapped_column(String(64))
    staff_message_ts: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_staff_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # revision 0004: the staff team the case is routed to (bot.teams); None until it needs staff
    team: Mapped[str | None] = mapped_column(String(64), index=True)

    turns: Mapped[list["TurnRow"]] = relationship(back_populates="case", order_by="TurnRow.id")
    events: Mapped[list["EventRow"]] = relationship(back_populates="case", order_by="EventRow.id")

    # revision 0005: the staff queue's orders (more in migrate.UNMODELLED_OBJECTS)
    __table_args__ = (
        Index("ix_consult_cases_status_updated", "status", "updated_at"),
        Index("ix_consult_cases_status_escalated", "status", "escalated_at"),
    )


class TurnRow(Base):
    __tablename__ = "consult_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_cases.id"), index=True)
    question: Mapped[str] = mapped_column(Text)          # already masked (PII removed)
    pii_kinds: Mapped[list[str] | None] = mapped_column(JSON)
    answer: Mapped[str | None] = mapped_column(Text)      # None while the answer is being made
    answered: Mapped[bool | None] = mapped_column(Boolean)
    mode: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(128))
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    sources: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    evidence: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    fallback_reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(255))
    dedupe_key: Mapped[str | None] = mapped_column(String(255), index=True)  # index: revision 0006
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    feedback: Mapped[str | None] = mapped_column(String(8))   # "up" | "down"
    feedback_by: Mapped[str | None] = mapped_column(String(128))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # revision 0002
    feedback_comment: Mapped[str | None] = mapped_column(Text)

    case: Mapped[CaseRow] = relationship(back_populates="turns")

    # revision 0005: 👎 turns newest first (the feedback page); per-case statistics
    __table_args__ = (
        Index("ix_consult_turns_feedback", "feedback", "feedback_at"),
        Index("ix_consult_turns_case_stats", "case_id", "answered", "feedback"),
    )


class EventRow(Base):
    __tablename__ = "consult_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_cases.id"), index=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("consult_turns.id"))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    case: Mapped[CaseRow] = relationship(back_populates="events")

    # revision 0005: an event kind per case (statistics, filters, the 👎 follow-up)
    __table_args__ = (Index("ix_consult_events_case_kind", "case_id", "kind", "created_at"),)


class DeliveryRow(Base):
    """Revision 0002: Slack deliveries already handled (event_id / client_msg_id), with expiry."""

    __tablename__ = "consult_deliveries"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WebTokenRow(Base):
    """Revision 0003: server-side state of the web console (``bot.web.tokens``): sessions, used
    login links, OpenID Connect states. ``key`` is a SHA-256 of the secret value, never the value."""

    __tablename__ = "consult_web_tokens"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class InboxRow(Base):
    """Revision 0006: the durable inbox. One row per Slack delivery that asks the bot something,
    written before (or as) the delivery is acknowledged, worked off by claim + lease, and kept
    with its outcome (``posted`` / ``handed_off`` / ``ignored`` / ``duplicate``)."""

    __tablename__ = "consult_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)     # the delivery's dedupe key
    kind: Mapped[str] = mapped_column(String(16))                   # mention / dm / assistant / ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)           # the parsed delivery
    state: Mapped[str] = mapped_column(String(16), index=True)      # pending / posted / ...
    attempts: Mapped[int] = mapped_column(Integer, default=0)       # claims so far
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)   # what is done already
    case_id: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReplicaRow(Base):
    """Revision 0006: serving processes and when each was last seen (its heartbeat is also the
    write probe that tells a replica its database works again)."""

    __tablename__ = "consult_replicas"

    owner: Mapped[str] = mapped_column(String(128), primary_key=True)   # host:pid:token
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class FaqEntryRow(Base):
    """Revision 0007: an FAQ entry written from a staff answer (or from scratch): draft ->
    approved -> retired (or rejected). Approved entries are indexed as staff answers
    (``bot.faq.index``); question and answer are stored masked."""

    __tablename__ = "consult_faq_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(String(512))     # 該当箇所 (a heading path)
    category: Mapped[str | None] = mapped_column(String(128))    # 分類 (programme)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("consult_cases.id"), index=True)
    source_event_id: Mapped[int | None] = mapped_column(ForeignKey("consult_events.id"))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_by: Mapped[str | None] = mapped_column(String(128))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FaqEventRow(Base):
    """Revision 0007: the audit trail of an FAQ entry (who changed what, when)."""

    __tablename__ = "consult_faq_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("consult_faq_entries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FaqCitationRow(Base):
    """Revision 0007: an answer (turn) that cited an approved FAQ entry, written with the turn."""

    __tablename__ = "consult_faq_citations"
    __table_args__ = (UniqueConstraint("entry_id", "turn_id", name="uq_consult_faq_citations_entry_turn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("consult_faq_entries.id"), index=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("consult_turns.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("consult_cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FaqStateRow(Base):
    """Revision 0007: one row; ``revision`` goes up with every change of an entry that the index
    must follow, in the same transaction (every replica polls it to sync its index)."""

    __tablename__ = "consult_faq_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
