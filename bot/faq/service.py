"""The ONE set of FAQ-entry rules, used by the web console, the Slack staff surfaces and the CLI.

    faq = services.faq
    entry = faq.draft_from_case("U0STAFF", "相談#12").entry     # a draft from the staff answer
    faq.edit("U0STAFF", entry.id, question="一般化した質問", answer=..., section=..., category=...)
    faq.approve("U0LEAD", entry.id)                              # NeedsConfirmation: warnings
    faq.approve("U0LEAD", entry.id, confirm=True)
    faq.retire("U0LEAD", entry.id)

For every change the service, in this order:

1. asks the ``StaffPolicy`` (the same object the case workflow uses) whether the actor is staff —
   and, for a draft from a case, whether they may read that case (``NotAuthorized`` if not);
2. checks and masks the text (``InvalidInput``: empty or too long; personal data masked with the
   workflow's own ``mask``, the product's one PII engine);
3. before an approval (or an edit of an approved entry) looks for what masking may have left —
   a person's name, a phone number (``bot.faq.personal``) — and refuses with
   ``NeedsConfirmation`` (its ``warnings`` listed) unless the actor confirmed;
4. lets the store apply it in ONE transaction on the locked row (``bot.faq.transitions``),
   with an audit event (who, when, what changed) and, when the approved set changed, one more
   ``consult_faq_state.revision`` for every replica's index sync;
5. calls ``on_change`` (wakes this process's index sync, so the entry is answerable here at once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

from bot.cases.policy import StaffPolicy
from bot.cases.programmes import programme_of
from bot.cases.workflow import NOT_STAFF, TEXT_MAX
from bot.domain import Passage
from bot.errors import ActionNotAllowed, InvalidInput, NotAuthorized
from bot.faq import personal
from bot.faq.store import FaqStore
from bot.faq.transitions import FaqAction
from bot.faq.views import FaqEntryDetail, FaqEntryView, FaqList, FaqStatus, parse_faq_ref

log = logging.getLogger(__name__)

QUESTION_MAX = 1000
ANSWER_MAX = TEXT_MAX
SECTION_MAX = 512
CATEGORY_MAX = 128


class NeedsConfirmation(ActionNotAllowed):
    """The entry still looks like it holds personal data: approve only after staff confirm."""

    def __init__(self, ref: str, found: Sequence[str]) -> None:
        self.warnings = list(found)
        super().__init__(f"{ref} needs confirmation", user_message=(
            f"{ref} を承認する前にご確認ください。" + "".join(self.warnings)
            + "問題がなければ「確認して承認する」を押してください。"))


@dataclass(frozen=True)
class FaqResult:
    entry: FaqEntryView
    message: str                              # polite Japanese confirmation for the actor
    created: bool = False                     # draft_from_case: False when one existed already
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DraftProposal:
    """What a draft from a case starts with (staff then generalise the question)."""

    case_id: int
    case_ref: str
    event_id: int
    question: str
    answer: str
    section: str
    category: str


class FaqService:
    def __init__(self, store, policy: StaffPolicy, *, mask: Callable[[str], str],
                 sections: Callable[[], Sequence[str]] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        """`mask`: the product's one PII function for staff text — the workflow's (`build_faq`
        hands `workflow.mask` in), so swapping the PII engine changes both at once."""
        self.store = store                    # the CaseStore
        self.faq = FaqStore(store)
        self.policy = policy
        self.mask = mask
        self.sections = sections              # the index's section paths (for 該当箇所)
        self.on_change = on_change

    # ---- reads ------------------------------------------------------------------------------
    def list(self, actor: str, status: str | None = None) -> FaqList:
        self._staff(actor)
        if status is not None and status not in {str(s) for s in FaqStatus}:
            raise InvalidInput(f"unknown status {status}", user_message=(
                f"状態「{status}」は不明です。draft / approved / rejected / retired のいずれかを指定してください。"))
        return self.faq.list(status)

    def detail(self, actor: str, entry) -> FaqEntryDetail:
        self._staff(actor)
        return self.faq.detail(parse_faq_ref(entry))

    def warnings(self, entry: FaqEntryView) -> list[str]:
        """What an approver should look at (person names, phone numbers) in this entry."""
        return personal.warnings(f"{entry.question}\n{entry.answer}")

    def known_sections(self) -> list[str]:
        if self.sections is None:
            return []
        try:
            return list(self.sections())
        except Exception as exc:  # no index yet: the field stays free text
            log.info("section list unavailable (%s)", type(exc).__name__)
            return []

    def section_known(self, section: str | None) -> bool | None:
        """True/False when the index can tell, None when it cannot (no index)."""
        if not section:
            return None
        known = self.known_sections()
        return (section in known) if known else None

    # ---- drafts from a case -----------------------------------------------------------------
    def proposal(self, actor: str, case, event_id: int | None = None) -> DraftProposal:
        """The officer's masked question, the staff answer, 分類 and 該当箇所 of a case's staff
        reply (the given one, else the latest). ``InvalidInput`` when it has none."""
        view = self.store.get_case(case)
        if not actor or not self.policy.can_read(actor, view):
            raise NotAuthorized(f"{actor} may not read {view.ref}", user_message=NOT_STAFF)
        found = self.faq.staff_reply(view.id, event_id)
        if found is None:
            raise InvalidInput("no staff reply", user_message=(
                f"{view.ref} には職員の回答がまだないため、FAQ にできません。先に相談者へ回答してください。"))
        reply_id, answer, question, sources = found
        section = _section_of(sources)
        category = view.programmes[0] if view.programmes else (
            programme_of(Passage("", "", "", "", section, None, "other", 0.0)) if section else "")
        return DraftProposal(case_id=view.id, case_ref=view.ref, event_id=reply_id,
                             question=self.mask(question), answer=self.mask(answer),
                             section=section or "",
                             category=category or "")

    def draft_from_case(self, actor: str, case, event_id: int | None = None, *,
                        question: str | None = None, answer: str | None = None,
                        section: str | None = None, category: str | None = None) -> FaqResult:
        """A draft from a case's staff answer (fields default to the proposal). Clicking twice
        gives the same draft back."""
        self._staff(actor)
        prop = self.proposal(actor, case, event_id)
        existing = self.faq.find_from_source(prop.case_id, prop.event_id)
        if existing is not None:
            return FaqResult(existing, f"{prop.case_ref} の回答からは、すでに {existing.ref}"
                                       f"（{existing.status_label}）が作成されています。")
        fields = self._fields(question if question is not None else prop.question,
                              answer if answer is not None else prop.answer,
                              section if section is not None else prop.section,
                              category if category is not None else prop.category)
        entry = self.faq.create(actor=actor, case_id=prop.case_id, source_event_id=prop.event_id,
                                **fields)
        log.info("%s drafted from %s", entry.ref, prop.case_ref)
        return FaqResult(entry, f"{entry.ref} の下書きを作成しました。質問を一般的な表現に直してから承認してください。",
                         created=True, warnings=tuple(self.warnings(entry)))

    # ---- entries written by maintainers ------------------------------------------------------
    def create(self, actor: str, *, question: str, answer: str, section: str | None = None,
               category: str | None = None, approve: bool = False,
               confirm: bool = False) -> FaqResult:
        self._staff(actor)
        fields = self._fields(question, answer, section, category)
        if approve and not confirm:
            self._confirm("新しい FAQ", personal.warnings(f"{fields['question']}\n{fields['answer']}"))
        entry = self.faq.create(actor=actor, approve=approve, **fields)
        if approve:
            self._changed()
            return FaqResult(entry, f"{entry.ref} を作成して承認しました。{_SOON}", created=True)
        return FaqResult(entry, f"{entry.ref} の下書きを作成しました。", created=True,
                         warnings=tuple(self.warnings(entry)))

    # ---- changes ----------------------------------------------------------------------------
    def edit(self, actor: str, entry, *, question: str, answer: str, section: str | None,
             category: str | None, confirm: bool = False) -> FaqResult:
        """保存. An approved entry stays approved (its text is re-indexed); a rejected one becomes
        a draft again."""
        self._staff(actor)
        entry_id = parse_faq_ref(entry)
        fields = self._fields(question, answer, section, category)
        before = self.faq.get(entry_id)
        if before.status == FaqStatus.APPROVED and not confirm:
            self._confirm(before.ref, personal.warnings(f"{fields['question']}\n{fields['answer']}"))
        view, changed = self.faq.change(entry_id, FaqAction.EDIT, actor=actor, fields=fields)
        if view.status == FaqStatus.APPROVED:
            self._changed()
            message = f"{view.ref} を保存しました。回答に使われる内容も 1 分以内に更新されます。"
        else:
            message = f"{view.ref} を保存しました。"
        return FaqResult(view, message, warnings=tuple(self.warnings(view)))

    def approve(self, actor: str, entry, *, confirm: bool = False) -> FaqResult:
        self._staff(actor)
        before = self.faq.get(parse_faq_ref(entry))
        if not confirm and before.status == FaqStatus.DRAFT:
            self._confirm(before.ref, self.warnings(before))
        view, _ = self.faq.change(before.id, FaqAction.APPROVE, actor=actor)
        self._changed()
        log.info("%s approved", view.ref)
        return FaqResult(view, f"{view.ref} を承認しました。{_SOON}")

    def reject(self, actor: str, entry, reason: str | None = None) -> FaqResult:
        self._staff(actor)
        view, _ = self.faq.change(parse_faq_ref(entry), FaqAction.REJECT, actor=actor,
                                  text=self._reason(reason))
        return FaqResult(view, f"{view.ref} を却下しました。")

    def retire(self, actor: str, entry, reason: str | None = None) -> FaqResult:
        self._staff(actor)
        view, _ = self.faq.change(parse_faq_ref(entry), FaqAction.RETIRE, actor=actor,
                                  text=self._reason(reason))
        self._changed()
        log.info("%s retired", view.ref)
        return FaqResult(view, f"{view.ref} を廃止しました。1 分以内に、どの応答でも回答に使われなくなります。")

    # ---- internals --------------------------------------------------------------------------
    def _staff(self, actor: str) -> None:
        if not actor or not self.policy.is_staff(actor):
            log.warning("FAQ action refused: %s", "no actor" if not actor else "not staff")
            raise NotAuthorized("not staff", user_message=NOT_STAFF)

    def _fields(self, question, answer, section, category) -> dict[str, str | None]:
        question = (question or "").strip()
        answer = (answer or "").strip()
        section = " ".join((section or "").split()) or None
        category = " ".join((category or "").split()) or None
        if not question:
            raise InvalidInput("empty question", user_message="質問を入力してください。")
        if not answer:
            raise InvalidInput("empty answer", user_message="回答を入力してください。")
        for value, limit, name in ((question, QUESTION_MAX, "質問"), (answer, ANSWER_MAX, "回答"),
                                   (section, SECTION_MAX, "該当箇所"), (category, CATEGORY_MAX, "分類")):
            if value and len(value) > limit:
                raise InvalidInput(f"{name} too long",
                                   user_message=f"{name}は {limit} 文字以内で入力してください。")
        return {"question": self.mask(question), "answer": self.mask(answer),
                "section": section, "category": category and self.mask(category)}

    @staticmethod
    def _reason(reason: str | None) -> str | None:
        reason = (reason or "").strip()
        if len(reason) > TEXT_MAX:
            raise InvalidInput("reason too long", user_message=f"理由は {TEXT_MAX} 文字以内で入力してください。")
        return reason or None

    @staticmethod
    def _confirm(ref: str, found: list[str]) -> None:
        if found:
            raise NeedsConfirmation(ref, found)

    def _changed(self) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change()
        except Exception:  # the change stands; the periodic sync catches up
            log.exception("waking the FAQ index sync failed")


_SOON = "1 分以内に、すべての応答で回答に使われるようになります。"


def _section_of(sources) -> str | None:
    """The knowledge-base section the bot's answer rested on: an FAQ row's 該当箇所, else the
    first cited document section."""
    for src in sources or ():
        if src.get("basis"):
            return str(src["basis"])
    for src in sources or ():
        if src.get("doc_type") != "faq" and src.get("section"):
            return str(src["section"])
    return None
