"""Shared fixtures of the staff-surface tests (imported by test_staff_actions.py).

The real Bolt app in HTTP mode (the Slack helper's `start_bot` from tests/slack/conftest.py),
the Slack Web API stand-in, and the real case store on SQLite under a fresh data dir. Cases are
created through the real store (as the consultation service does), escalations through the real
「職員に相談する」 button of the officer's answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest

from bot.cases.views import CaseView
from bot.domain import Answer, Conversation, Passage, Requester
from bot.slack import ids
from bot.slack.staff import ids as sids
from tests.slack.conftest import OFFICER, OFFICER_NAME, RunningBot, slack_env
from tests.standins.signing import block_action, event_callback, view_submission
from tests.standins.slack_api import ApiCall, SlackApiStandIn

STAFF_CHANNEL = "C0STAFF"
OFFICE_CHANNEL = "C0KAMIKAWA"
STAFF_MEMBER = "U0STAFF"      # staff by membership of the staff channel
STAFF_LEAD = "U0LEAD"         # staff by CONSULT_STAFF_USERS only
OUTSIDER = "W999"             # neither
ACK_LIMIT_S = 1.5


@dataclass
class StaffWorld:
    bot: RunningBot

    @property
    def slack(self) -> SlackApiStandIn:
        return self.bot.slack

    @property
    def store(self):
        return self.bot.services.store

    # ---- setting the scene ----------------------------------------------------------------
    def consultation(self, question: str, answer_text: str = "要綱第3条により、申請は6月末までです [1]。",
                     *, answered: bool = True, channel: str = OFFICE_CHANNEL,
                     user: str = OFFICER) -> tuple[CaseView, str]:
        """An officer's answered consultation in a Slack thread: (case, thread ts)."""
        root = self.slack.seed_message(channel, text=question, user=user)
        passage = Passage(chunk_id="c1", text="申請期限は6月末とする。", source="rules/koufukin.md",
                          title="地域づくり総合交付金 交付要綱", section="第3条 申請", page=2,
                          doc_type="rules", score=0.9)
        answer = Answer(text=answer_text, answered=answered, mode="extractive",
                        sources=[passage] if answered else [], evidence=0.8 if answered else 0.1)
        conv = Conversation(kind="slack", workspace="T111", channel=channel, thread_ts=root)
        case, _turn = self.store.add_turn(conv, Requester(user, OFFICER_NAME, "上川町"), question,
                                          answer)
        return case, root

    def escalate(self, case: CaseView, thread_ts: str) -> ApiCall:
        """The officer presses 「職員に相談する」 under the answer (the real officer surface)."""
        resp = self.bot.deliver.post_interaction(block_action(
            ids.ESCALATE, str(case.id), user=OFFICER, channel=case.channel,
            message_ts=thread_ts, thread_ts=thread_ts))
        assert resp.status == 200
        card = self.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == STAFF_CHANNEL
                                   and f"相談#{case.id}" in c.params.get("text", ""))
        self.bot.idle()       # the escalation task finished: the card's channel/ts are stored
        return card

    def escalated(self, question: str = "地域づくり総合交付金の申請期限はいつですか？"
                  ) -> tuple[CaseView, str, str]:
        """(case, officer thread ts, staff card ts) of a case waiting for staff."""
        case, root = self.consultation(question)
        card = self.escalate(case, root)
        return self.store.get_case(case.id), root, card.response["ts"]

    # ---- staff clicks ---------------------------------------------------------------------
    def click(self, action_id: str, case_id: int, *, user: str, card_ts: str = "1.000001",
              channel: str | None = STAFF_CHANNEL):
        payload = block_action(action_id, str(case_id), user=user, channel=channel or "",
                               message_ts=card_ts)
        if channel is None:  # a click in the App Home: a view container, no channel
            payload.pop("channel")
            payload.pop("message")
            payload["container"] = {"type": "view", "view_id": f"VHOME{user}"}
        resp = self.bot.deliver.post_interaction(payload)
        assert resp.status == 200, resp.body
        assert resp.elapsed < ACK_LIMIT_S, f"ack took {resp.elapsed:.2f}s"
        return resp

    def submit(self, callback_id: str, block_id: str, action_id: str, text: str, *,
               private_metadata: str, user: str):
        payload = view_submission(callback_id, {block_id: {action_id: {
            "type": "plain_text_input", "value": text}}}, private_metadata=private_metadata,
            user=user)
        resp = self.bot.deliver.post_interaction(payload)
        assert resp.status == 200, resp.body
        assert resp.elapsed < ACK_LIMIT_S, f"ack took {resp.elapsed:.2f}s"
        return resp

    def open_modal(self, action_id: str, case_id: int, *, user: str, card_ts: str) -> dict:
        before = len(self.slack.ok_calls("views.open"))
        self.click(action_id, case_id, user=user, card_ts=card_ts)
        return self.slack.wait_for("views.open", count=before + 1).params["view"]

    def reply(self, case_id: int, text: str, *, user: str, card_ts: str):
        view = self.open_modal(sids.STAFF_REPLY, case_id, user=user, card_ts=card_ts)
        return self.submit(sids.STAFF_REPLY_VIEW, sids.REPLY_BLOCK, sids.REPLY_INPUT, text,
                           private_metadata=view["private_metadata"], user=user)

    def note(self, case_id: int, text: str, *, user: str, card_ts: str):
        view = self.open_modal(sids.STAFF_NOTE, case_id, user=user, card_ts=card_ts)
        return self.submit(sids.STAFF_NOTE_VIEW, sids.NOTE_BLOCK, sids.NOTE_INPUT, text,
                           private_metadata=view["private_metadata"], user=user)

    def home_opened(self, user: str) -> ApiCall:
        before = len([c for c in self.slack.ok_calls("views.publish")
                      if c.params.get("user_id") == user])
        resp = self.bot.deliver.post_event(event_callback(
            {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
             "event_ts": f"{time.time():.6f}"}))
        assert resp.status == 200
        return self.slack.wait_for("views.publish", lambda c: c.params.get("user_id") == user,
                                   count=before + 1)

    # ---- inspection -----------------------------------------------------------------------
    def ephemeral_to(self, user: str, count: int = 1) -> ApiCall:
        return self.slack.wait_for("chat.postEphemeral", lambda c: c.params.get("user") == user,
                                   count=count)

    def card_updates(self, card_ts: str) -> list[ApiCall]:
        return [c for c in self.slack.ok_calls("chat.update")
                if c.params.get("channel") == STAFF_CHANNEL and c.params.get("ts") == card_ts]

    def staff_posts(self) -> list[ApiCall]:
        return [c for c in self.slack.ok_calls("chat.postMessage")
                if c.params.get("channel") == STAFF_CHANNEL]

    def officer_thread_posts(self, thread_ts: str, channel: str = OFFICE_CHANNEL) -> list[ApiCall]:
        return [c for c in self.slack.ok_calls("chat.postMessage")
                if c.params.get("channel") == channel and c.params.get("thread_ts") == thread_ts]


def params_text(call: ApiCall) -> str:
    return json.dumps(call.params, ensure_ascii=False)


@pytest.fixture
def staff_world(make_settings, slack_api, start_bot) -> StaffWorld:
    """The real bot (HTTP mode) with a staff channel, its members, and an explicit staff user."""
    slack_api.set_members(STAFF_CHANNEL, [STAFF_MEMBER, "UBOT"])
    settings = make_settings(**slack_env(slack_api, CONSULT_STAFF_CHANNEL=STAFF_CHANNEL,
                                         CONSULT_STAFF_USERS=STAFF_LEAD))
    world = StaffWorld(start_bot(settings))
    yield world


def wait_until(predicate, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
