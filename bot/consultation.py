"""The consultation service: one question in, one answer out, exactly one turn logged.

``ConsultationService.consult(inquiry)``:

1. masks personal data in the question (``bot.pii.PiiGuard``, handed in) before anything leaves
   the process — the answerer, the logs and the case store only ever see the masked text;
2. in ONE database transaction claims the delivery key (a retried Slack delivery returns
   ``ConsultResult(duplicate=True)`` without answering or writing anything), opens, continues or
   reopens the conversation's case, inserts the turn (answer still empty) and reads the history;
3. calls ``answerer.answer(masked_question, history, on_token=...)``;
4. completes the turn with the answer. A declined answer (weak evidence) moves the case to
   ``needs_staff`` (reason ``not_answered``).

Failures:

- **The answerer raises** (KnowledgeBaseMissing, a bug, …): the turn is completed with the
  exception class as its error (the case goes to ``needs_staff``, reason ``bot_error``), then the
  exception is RE-RAISED unchanged, so the surface turns it into its polite message
  (``ConsultError.user_message``). The turn exists in every case.
- **The case database is down** (``StoreUnavailable``): the officer still gets the answer. The
  turn is appended to a spool file under ``<data_dir>/spool/`` (question masked) and written when
  the database is back — by the running bot's inbox heartbeat (``bot.slack.inbox``), after the
  next successful consultation, or by ``consult db upgrade``.
  Each occurrence is logged at ERROR level. When the database was down from the start the result
  has ``case_id``/``case_ref`` None; when it failed mid-answer, the case exists and is returned.
  Unexpected database errors are treated the same way (spooled, logged with the traceback).
  While the database is down, dedupe falls back to keys this process has already seen.

Feedback and escalation: the Slack layer may call ``record_feedback`` / ``escalate`` here (thin,
logged wrappers) or the same-named ``CaseStore`` methods directly — they are equivalent.

Logs carry case refs and turn ids only, never question text or names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Callable

from bot.cases.db import describe_error
from bot.cases.spool import Spool, turn_record
from bot.cases.views import CaseView, EscalationReason, TurnView
from bot.domain import Answer, ConsultResult, Inquiry, Passage
from bot.errors import ConsultError, StoreUnavailable
from bot.municipality import MunicipalityMap, ProfileLookup, find_municipality
from bot.pii import PiiGuard

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 86400
_LOCAL_KEYS_MAX = 10000


def answer_from_turn(turn: TurnView) -> Answer:
    """The answer a completed turn recorded (passage texts as stored: shortened)."""
    sources = [Passage(chunk_id=str(src.get("chunk_id") or ""), text=str(src.get("text") or ""),
                       source=str(src.get("source") or ""), title=str(src.get("title") or ""),
                       section=str(src.get("section") or ""), page=src.get("page"),
                       doc_type=str(src.get("doc_type") or "other"),
                       score=float(src.get("score") or 0.0), dense_score=src.get("dense_score"),
                       bm25_score=src.get("bm25_score"))
               for src in turn.sources]
    return Answer(text=turn.answer or "", answered=bool(turn.answered), mode=turn.mode or "none",
                  sources=sources, model=turn.model, prompt_version=turn.prompt_version,
                  evidence=float(turn.evidence or 0.0), latency_ms=int(turn.latency_ms or 0),
                  fallback_reason=turn.fallback_reason)


class _SeenKeys:
    """Delivery keys this process has handled (the fallback dedupe while the DB is down)."""

    def __init__(self, ttl_s: int = DEDUPE_TTL_S, max_size: int = _LOCAL_KEYS_MAX):
        self._keys: OrderedDict[str, float] = OrderedDict()
        self._ttl = ttl_s
        self._max = max_size
        self._lock = threading.Lock()

    def seen(self, key: str) -> bool:
        with self._lock:
            expiry = self._keys.get(key)
            return expiry is not None and expiry > time.monotonic()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = time.monotonic() + self._ttl
            self._keys.move_to_end(key)
            while len(self._keys) > self._max:
                self._keys.popitem(last=False)


class ConsultationService:
    def __init__(self, *, settings, answerer, store, municipalities: MunicipalityMap | None = None,
                 spool: Spool | None = None, dedupe_ttl_s: int = DEDUPE_TTL_S,
                 profiles: ProfileLookup | None = None, pii: PiiGuard | None = None):
        self.settings = settings
        self.pii = pii if pii is not None else PiiGuard.from_settings(settings)
        self.answerer = answerer
        self.store = store
        self.municipalities = municipalities if municipalities is not None else \
            MunicipalityMap.from_settings(settings)
        self.spool = spool if spool is not None else Spool.from_settings(settings)
        self.dedupe_ttl_s = dedupe_ttl_s
        self.profiles = profiles      # Slack team / e-mail of a requester (users.info), optional
        self._seen = _SeenKeys(dedupe_ttl_s)

    # ---- the one entry point of every surface ---------------------------------------------------
    def consult(self, inquiry: Inquiry, on_token: Callable[[str], None] | None = None, *,
                resume: bool = False) -> ConsultResult:
        """Answer one question and log it as one turn (see the module docstring).

        ``resume=True`` (the durable inbox re-running a delivery after a crash): when the key was
        claimed by an earlier attempt, that attempt's turn is returned (or, if it never got its
        answer, answered now) instead of a duplicate."""
        masked, kinds = self.pii.mask(inquiry.question)
        key = inquiry.dedupe_key
        if key and not resume and self._seen.seen(key):  # handled here (maybe while the DB was down)
            return self._duplicate(self._find_case(inquiry), kinds)
        municipality = inquiry.requester.municipality or find_municipality(
            self.municipalities, inquiry.requester.user_id, inquiry.conversation.channel,
            inquiry.conversation.workspace, self.profiles)

        begun = None
        try:
            begun = self.store.begin_turn(
                inquiry.conversation, inquiry.requester, masked, pii_kinds=kinds, dedupe_key=key,
                municipality=municipality, ttl_s=self.dedupe_ttl_s)
        except StoreUnavailable:
            # the store logged the outage once; each spooled turn is logged below
            log.info("case database unavailable: answering anyway, spooling the turn")
        except Exception as exc:  # an unexpected database error must not cost the answer
            log.error("opening the case failed (%s): answering anyway, the turn will be spooled "
                      "under %s", describe_error(exc), self.spool.directory)
        if begun is not None and begun.duplicate:
            if key:
                self._seen.add(key)
            if resume and key:
                resumed = self._resume(key, masked, kinds, on_token)
                if resumed is not None:
                    return resumed
            return self._duplicate(begun.case, kinds)
        if key:
            self._seen.add(key)

        history = list(begun.history) if begun is not None else []
        try:
            answer = self.answerer.answer(masked, history, on_token=on_token)
        except BaseException as exc:
            log.error("answering failed for %s (%s); recording the turn and re-raising",
                      begun.case.ref if begun else "a consultation", type(exc).__name__)
            self._record(inquiry, begun, masked, kinds, municipality, None, type(exc).__name__)
            raise
        case = self._record(inquiry, begun, masked, kinds, municipality, answer, None)
        if case is None and begun is not None:
            case = begun.case  # the turn row exists; only its answer waits in the spool
        elif case is not None:
            self._replay_spool()  # the database works: write what an outage left behind
        return ConsultResult(
            case_id=case.id if case else None,
            case_ref=case.ref if case else None,
            answer=answer,
            pii_kinds=kinds,
            reopened=bool(begun and begun.reopened),
            turn_id=begun.turn_id if begun else None,
        )

    # ---- feedback and escalation (thin wrappers over the store) ---------------------------------
    def record_feedback(self, turn_id: int, *, user_id: str, value: str,
                        comment: str | None = None) -> CaseView:
        """👍/👎 on a turn; a new 👎 sends an answered case to needs_staff."""
        if comment is not None:
            comment, _ = self.pii.mask(comment)
        return self.store.record_feedback(turn_id, user_id=user_id, value=value, comment=comment)

    def escalate(self, case: int | str, *, user_id: str,
                 reason: str = EscalationReason.REQUESTED) -> CaseView:
        """The officer pressed 「職員に相談する」: answered -> needs_staff."""
        return self.store.escalate(case, actor=user_id, reason=reason)

    def replay_spool(self) -> int:
        """Write turns spooled during a database outage; returns how many were written."""
        return self.spool.replay(self.store)

    # ---- internals --------------------------------------------------------------------------------
    def _resume(self, key: str, masked: str, kinds: list[str],
                on_token: Callable[[str], None] | None) -> ConsultResult | None:
        """The turn an earlier attempt of this delivery began (None: there is none)."""
        found = self.store.turn_for_key(key)
        if found is None:
            return None
        case, turn = found
        if turn.completed_at is None:          # that attempt died while answering
            log.info("resuming turn %s of %s: answering it now", turn.id, case.ref)
            history = self.store.history(case.id, before_turn_id=turn.id)
            try:
                answer = self.answerer.answer(masked, history, on_token=on_token)
            except BaseException as exc:
                self.store.complete_turn(turn.id, None, error=type(exc).__name__)
                raise
            case = self.store.complete_turn(turn.id, answer)
        elif turn.error:
            raise ConsultError(f"the resumed turn {turn.id} had failed with {turn.error}")
        else:
            answer = answer_from_turn(turn)
        return ConsultResult(case_id=case.id, case_ref=case.ref, answer=answer, pii_kinds=kinds,
                             turn_id=turn.id)

    @staticmethod
    def _duplicate(case: CaseView | None, kinds: list[str]) -> ConsultResult:
        log.info("duplicate delivery ignored (%s)", case.ref if case else "case unknown")
        return ConsultResult(case_id=case.id if case else None, case_ref=case.ref if case else None,
                             answer=Answer(text="", answered=False, mode="none"), duplicate=True,
                             pii_kinds=kinds)

    def _find_case(self, inquiry: Inquiry) -> CaseView | None:
        try:
            return self.store.find_case(inquiry.conversation)
        except StoreUnavailable:
            return None

    def _record(self, inquiry: Inquiry, begun, masked: str, kinds: list[str],
                municipality: str | None, answer: Answer | None,
                error: str | None) -> CaseView | None:
        """Complete the started turn, or spool it when the database is unavailable."""
        if begun is not None:
            try:
                return self.store.complete_turn(begun.turn_id, answer, error=error)
            except Exception as exc:  # StoreUnavailable, or anything unexpected: never lose it
                self.spool.add_complete(begun.turn_id, answer, error, turn=turn_record(
                    inquiry.conversation, inquiry.requester, masked, kinds, inquiry.dedupe_key,
                    municipality, None, None))
                log.error("case database error (%s): turn %s of %s spooled to %s",
                          describe_error(exc), begun.turn_id, begun.case.ref, self.spool.path)
                return None
        try:
            self.spool.add_turn(inquiry.conversation, inquiry.requester, masked, kinds,
                                inquiry.dedupe_key, municipality, answer, error)
        except Exception as exc:  # the disk too: the last resort is a loud line without content
            log.critical("CONSULTATION NOT RECORDED: database unavailable and spool %s not "
                         "writable (%s)", self.spool.path, type(exc).__name__)
            return None
        log.error("case database unavailable: turn spooled to %s (written when it is back)",
                  self.spool.path)
        return None

    def _replay_spool(self) -> None:
        if not self.spool.has_pending():
            return
        try:
            self.spool.replay(self.store)
        except Exception as exc:  # never let a replay problem cost the officer an answer
            log.error("replaying the turn spool failed (%s); it stays on disk",
                      describe_error(exc))
