"""The Slack side of staff actions: staff-channel card, officer notices, staff replies.

`SlackStaffNotifier` is the workflow's `StaffNotifier` port (bot.cases.workflow): the web
console and the CLI trigger the same Slack effects as the card's buttons through it.

`notify_staff` posts the case card to `CONSULT_STAFF_CHANNEL` the first time and afterwards
updates that same message in place (`chat.update` on the stored channel/ts), so the staff channel
holds one card per case that always shows its current status. `notify_officer` posts a short
notice into the officer's own thread when the case is taken and when it is resolved; it never
carries staff-internal content (notes).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases.views import CaseView
from bot.slack.staff.card import build_moved_card, build_staff_card, card_text
from bot.slack.staff.cases import staff_case_from_detail
from bot.slack.staff.notices import officer_notice_text, staff_reply_text

log = logging.getLogger(__name__)

# Serialises "no card yet -> post one" inside this process, so two near-simultaneous escalations
# (e.g. 👎 and 「職員に相談する」) do not post two cards. Across replicas the window stays small.
_first_post_lock = threading.Lock()

# chat.update errors after which the card is posted again instead (deleted / archived / moved).
_REPOST_ERRORS = frozenset({"message_not_found", "channel_not_found", "is_archived",
                            "cant_update_message"})


def _error(exc: SlackApiError) -> str | None:
    return exc.response.get("error") if exc.response is not None else None


def notify_staff(client: WebClient, services, case_id: int, reason: str) -> None:
    """`post_or_update_card` with the store of `services`, in the channel of the case's team
    (`CONSULT_STAFF_CHANNEL` without a teams file), with the similar past cases of `services`."""
    workflow = services.workflow
    similar = getattr(services, "similar", None)
    if getattr(workflow, "teams", None) is None:
        post_or_update_card(client, services.store, services.settings.staff_channel, case_id,
                            reason, similar=similar)
        return
    post_or_update_card(client, services.store, workflow.card_channel, case_id, reason,
                        team_name=workflow.team_name, similar=similar)


def post_or_update_card(client: WebClient, store, channel, case_id: int, reason: str, *,
                        team_name: Callable[[CaseView], str | None] | None = None,
                        similar=None) -> None:
    """Post the case card to the staff channel, or update the existing card in place.

    `channel` is the channel id, or a function of the case giving it (its team's channel);
    `team_name` (teams file only) puts the owning team on the card.

    `reason` is why this happened (an escalation reason such as "requested", "negative_feedback",
    "not_answered", "reopened", or a staff action such as "assigned"); the card shows the reason
    the store keeps for the case and falls back to an escalation `reason` given here.
    Raises SlackApiError / ConsultError; callers log (see `bot.slack.escalation`)."""
    detail = store.case_detail(case_id, include_internal=True)  # staff surface only
    if callable(channel):
        channel = channel(detail.case)
    case = staff_case_from_detail(detail, reason, thread_link=thread_permalink(client, detail.case),
                                  team_name=team_name(detail.case) if team_name else None,
                                  similar=similar_lines(similar, detail))
    blocks, text = build_staff_card(case), card_text(case)
    seen = _card_of(detail.case)
    if seen is not None and _update_card(client, seen, case.ref, text, blocks, reason):
        return
    if not channel:
        log.warning("CONSULT_STAFF_CHANNEL is not set: %s is only in the staff queue (%s)",
                    case.ref, reason)
        return
    with _first_post_lock:
        # Another thread may have posted the card while this one was rendering.
        current = _card_of(store.get_case(case_id))
        if current not in (None, seen) and _update_card(client, current, case.ref, text, blocks,
                                                        reason):
            return
        resp = client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                       unfurl_links=False, unfurl_media=False)
        store.set_staff_message(case_id, resp["channel"], resp["ts"])
    log.info("staff card of %s posted (%s)", case.ref, reason)


def similar_lines(similar, detail) -> tuple:
    """Similar resolved cases / approved FAQ entries for the card of an open case (``similar``
    is ``bot.faq.similar.SimilarCases``; its failure costs the section, never the card)."""
    from bot.cases.views import CaseStatus
    from bot.slack.staff.model import SimilarLine

    if similar is None or detail.case.status == CaseStatus.RESOLVED:
        return ()
    try:
        items = similar.for_case(detail)
    except Exception:
        log.exception("similar cases for %s unavailable; the card is shown without them",
                      detail.case.ref)
        return ()
    return tuple(SimilarLine(key=i.key, label=i.candidate.label, kind=i.kind,
                             question=i.candidate.question, answer=i.candidate.answer,
                             similarity=i.similarity) for i in items)


def _update_card(client: WebClient, post: tuple[str, str], ref: str, text: str,
                 blocks: list[dict], reason: str) -> bool:
    """chat.update the card in place; False when it is gone (then it is posted again)."""
    channel, ts = post
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        if _error(exc) not in _REPOST_ERRORS:
            raise
        log.warning("staff card of %s could not be updated (%s); posting it again", ref,
                    _error(exc))
        return False
    log.info("staff card of %s updated (%s)", ref, reason)
    return True


def _card_of(case: CaseView) -> tuple[str, str] | None:
    if case.staff_channel and case.staff_message_ts:
        return case.staff_channel, case.staff_message_ts
    return None


def thread_permalink(client: WebClient, case: CaseView) -> str | None:
    """Permalink of the officer's thread (None when Slack cannot give one; logged)."""
    where = officer_thread(case)
    if where is None:
        return None
    channel, thread_ts = where
    if not thread_ts:
        return None
    try:
        return client.chat_getPermalink(channel=channel, message_ts=thread_ts).get("permalink")
    except SlackApiError as exc:
        log.warning("no permalink for the thread of %s: %s", case.ref, _error(exc))
        return None


def officer_thread(case: CaseView) -> tuple[str, str | None] | None:
    """(channel, thread_ts) of the officer's conversation, or None for console / CLI cases."""
    if case.kind != "slack" or not case.channel:
        return None
    return case.channel, case.thread_ts


def notify_officer(client: WebClient, store, case_id: int, kind: str, *,
                   staff_user: str | None = None) -> bool:
    """Short notice in the officer's thread: kind "assigned" (taken) or "resolved".

    Returns False when the case has no Slack thread (console / CLI consultation)."""
    case = store.get_case(case_id)
    where = officer_thread(case)
    if where is None:
        log.info("%s has no Slack thread; no %s notice posted", case.ref, kind)
        return False
    channel, thread_ts = where
    text = officer_notice_text(kind, case.ref, staff_user or case.assignee)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                            unfurl_links=False, unfurl_media=False)
    return True


def post_staff_reply(client: WebClient, case: CaseView, staff_user: str, reply: str) -> str | None:
    """Post a staff member's reply into the officer's thread (attributed to them, escaped).

    Returns the message ts, or None when the case has no Slack thread."""
    where = officer_thread(case)
    if where is None:
        return None
    channel, thread_ts = where
    resp = client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                   text=staff_reply_text(staff_user, reply),
                                   unfurl_links=False, unfurl_media=False)
    return resp.get("ts")


class SlackStaffNotifier:
    """The workflow's Slack port: one WebClient (built from the settings), the case store, the
    staff channel. Permalinks and display names are cached (they do not change)."""

    NAME_TTL_S = 600.0

    def __init__(self, client: WebClient, store, staff_channel: str | None, *,
                 channel_for: Callable[[CaseView], str | None] | None = None,
                 team_name: Callable[[CaseView], str | None] | None = None,
                 similar=None) -> None:
        self.client = client
        self.store = store
        self.staff_channel = staff_channel
        self.channel_for = channel_for      # the case's team channel (None: staff_channel)
        self.team_name = team_name
        self.similar = similar              # bot.faq.similar.SimilarCases: the card's similar cases
        self._lock = threading.Lock()
        self._links: dict[tuple[str, str], str] = {}
        self._names: dict[str, tuple[float, str | None]] = {}

    def post_reply(self, case: CaseView, staff_user: str, text: str) -> str | None:
        return post_staff_reply(self.client, case, staff_user, text)

    def case_changed(self, case_id: int, kind: str) -> None:
        post_or_update_card(self.client, self.store, self.channel_for or self.staff_channel,
                            case_id, kind, team_name=self.team_name, similar=self.similar)

    def case_moved(self, case: CaseView, old_card: tuple[str, str] | None, from_team: str,
                   to_team: str) -> None:
        """The old card (if any) now says where the case went, without buttons."""
        if old_card is None:
            return
        channel, ts = old_card
        blocks = build_moved_card(case.ref, case.title, from_team, to_team)
        try:
            self.client.chat_update(channel=channel, ts=ts, blocks=blocks,
                                    text=f"{case.ref} は「{to_team}」に移しました")
        except SlackApiError as exc:
            if _error(exc) not in _REPOST_ERRORS:
                raise
            log.warning("old staff card of %s is gone (%s)", case.ref, _error(exc))

    def tell_officer(self, case_id: int, kind: str, staff_user: str | None) -> None:
        notify_officer(self.client, self.store, case_id, kind, staff_user=staff_user)

    def thread_link(self, case: CaseView) -> str | None:
        where = officer_thread(case)
        if where is None or not where[1]:
            return None
        key = (where[0], where[1])
        with self._lock:
            if key in self._links:
                return self._links[key]
        link = thread_permalink(self.client, case)
        if link:
            with self._lock:
                if len(self._links) > 10000:
                    self._links.clear()
                self._links[key] = link
        return link

    def user_name(self, user_id: str | None) -> str | None:
        """Display name from users.info (cached for ten minutes; None when unknown)."""
        if not user_id or not user_id[:1] in ("U", "W") or not user_id.isalnum():
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._names.get(user_id)
            if hit and now - hit[0] < self.NAME_TTL_S:
                return hit[1]
        name = None
        try:
            user = self.client.users_info(user=user_id).get("user") or {}
            profile = user.get("profile") or {}
            name = (profile.get("real_name") or profile.get("display_name")
                    or user.get("real_name") or user.get("name") or None)
        except SlackApiError as exc:
            log.warning("users.info failed for a staff name: %s", _error(exc))
        except Exception as exc:  # network: show the id instead
            log.warning("users.info failed for a staff name: %s", type(exc).__name__)
        with self._lock:
            if len(self._names) > 10000:
                self._names.clear()
            self._names[user_id] = (now, name)
        return name
