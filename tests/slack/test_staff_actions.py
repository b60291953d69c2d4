"""Staff workflow through the REAL Bolt app (HTTP mode, signed deliveries) against the Slack Web
API stand-in and the real case store on SQLite: the staff card in the staff channel (updated in
place), assign, reply modal -> message in the officer's thread, internal notes, resolve, reopen,
authorisation refusals, and the staff App Home queue."""

from __future__ import annotations

import json

from slack_sdk import WebClient

from bot.cases.views import CaseStatus, EventKind
from bot.domain import Answer, Conversation, Requester
from bot.cases.policy import DefaultStaffPolicy
from bot.slack.staff import ids as sids
from bot.slack.staff.notices import REFUSAL_TEXT
from bot.slack.staff.notify import notify_staff
from tests.slack.conftest import OFFICER, block_text
from tests.slack.staff_fixtures import (  # noqa: F401  (staff_world is a fixture)
    OFFICE_CHANNEL, OUTSIDER, STAFF_CHANNEL, STAFF_LEAD, STAFF_MEMBER, params_text, staff_world,
    wait_until,
)


def card_text_of(call) -> str:
    return block_text(call.params) + "\n" + json.dumps(call.params.get("blocks"), ensure_ascii=False)


def test_escalation_posts_the_card_with_everything_staff_need(staff_world):
    case, root, card_ts = staff_world.escalated("地域づくり総合交付金の申請期限は <!channel> いつですか？")
    posts = staff_world.staff_posts()
    assert len(posts) == 1
    text = card_text_of(posts[0])
    for expected in (case.ref, "上川町", f"<@{OFFICER}>", "申請期限は &lt;!channel&gt; いつですか",
                     "6月末までです", "地域づくり総合交付金 交付要綱 › 第3条 申請", "職員への相談を希望",
                     "職員対応待ち", "未割り当て", "担当する", "回答する", "メモ", "解決済み"):
        assert expected in text, expected
    assert "<!channel>" not in text
    link = f"https://hokkaido-test.slack.com/archives/{OFFICE_CHANNEL}/p{root.replace('.', '')}"
    assert f"<{link}|スレッドを開く>" in text                # jump to the officer's thread
    # the store keeps where the card lives, so it is updated in place later
    assert staff_world.store.get_staff_message(case.id) == (STAFF_CHANNEL, card_ts)
    assert case.status == CaseStatus.NEEDS_STAFF


def test_assign_updates_the_card_in_place_and_tells_the_officer(staff_world):
    case, root, card_ts = staff_world.escalated()
    staff_world.click(sids.STAFF_ASSIGN, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    update = staff_world.slack.wait_for(
        "chat.update", lambda c: c.params.get("ts") == card_ts and "対応中" in card_text_of(c))
    assert update.params["channel"] == STAFF_CHANNEL
    assert f"<@{STAFF_MEMBER}>" in card_text_of(update)
    assert "担当を引き継ぐ" in card_text_of(update)                  # taken: others may take over
    notice = staff_world.slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == root and "担当いたします" in
        c.params.get("text", ""))
    assert notice.params["channel"] == OFFICE_CHANNEL and case.ref in notice.params["text"]
    after = staff_world.store.get_case(case.id)
    assert after.status == CaseStatus.IN_PROGRESS and after.assignee == STAFF_MEMBER
    assert len(staff_world.staff_posts()) == 1          # never a second card

    # Assigning again: told politely, nothing posted to the officer twice.
    staff_world.click(sids.STAFF_ASSIGN, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    assert "すでにあなたが担当" in staff_world.ephemeral_to(STAFF_MEMBER).params["text"]
    notices = [c for c in staff_world.officer_thread_posts(root)
               if "担当いたします" in c.params.get("text", "")]
    assert len(notices) == 1

    # Another staff member takes over: the card and the officer follow.
    staff_world.click(sids.STAFF_ASSIGN, case.id, user=STAFF_LEAD, card_ts=card_ts)
    staff_world.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root
                               and f"<@{STAFF_LEAD}>" in c.params.get("text", ""))
    staff_world.slack.wait_for("chat.update", lambda c: c.params.get("ts") == card_ts
                               and f"*担当者*\\n<@{STAFF_LEAD}>" in card_text_of(c))
    assert staff_world.store.get_case(case.id).assignee == STAFF_LEAD


def test_reply_modal_posts_into_the_officers_thread_and_is_recorded(staff_world):
    case, root, card_ts = staff_world.escalated()
    view = staff_world.open_modal(sids.STAFF_REPLY, case.id, user=STAFF_LEAD, card_ts=card_ts)
    assert view["callback_id"] == sids.STAFF_REPLY_VIEW
    assert case.ref in json.dumps(view, ensure_ascii=False)

    # An empty reply is refused inside the modal; nothing is posted or recorded.
    empty = staff_world.submit(sids.STAFF_REPLY_VIEW, sids.REPLY_BLOCK, sids.REPLY_INPUT, "  ",
                               private_metadata=view["private_metadata"], user=STAFF_LEAD)
    assert empty.json() == {"response_action": "errors",
                            "errors": {sids.REPLY_BLOCK: "回答を入力してください。"}}

    reply = "申請期限は6月30日です。<!channel> 様式は A&B をご利用ください。"
    staff_world.submit(sids.STAFF_REPLY_VIEW, sids.REPLY_BLOCK, sids.REPLY_INPUT, reply,
                       private_metadata=view["private_metadata"], user=STAFF_LEAD)
    posted = staff_world.slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == root
        and "（担当職員）より" in c.params.get("text", ""))
    assert posted.params["channel"] == OFFICE_CHANNEL
    assert posted.params["text"] == (f"<@{STAFF_LEAD}>（担当職員）より：\n申請期限は6月30日です。"
                                     "&lt;!channel&gt; 様式は A&amp;B をご利用ください。")
    # the message really is in the officer's thread
    thread = staff_world.slack.messages(OFFICE_CHANNEL, root)
    assert any("（担当職員）より" in m["text"] for m in thread)

    detail = wait_until(lambda: [d for d in [staff_world.store.case_detail(case.id)]
                                 if any(e.kind == EventKind.STAFF_REPLY for e in d.events)],
                        what="staff reply recorded")[0]
    event = next(e for e in detail.events if e.kind == EventKind.STAFF_REPLY)
    assert event.text == reply and event.actor == STAFF_LEAD
    assert detail.case.status == CaseStatus.IN_PROGRESS and detail.case.assignee == STAFF_LEAD
    assert detail.case.first_staff_response_at is not None
    update = staff_world.slack.wait_for(
        "chat.update", lambda c: c.params.get("ts") == card_ts and "職員の回答 1 件" in card_text_of(c))
    assert update.params["channel"] == STAFF_CHANNEL
    assert "回答を投稿しました" in staff_world.ephemeral_to(STAFF_LEAD).params["text"]


def test_internal_note_never_reaches_the_officer(staff_world):
    case, root, card_ts = staff_world.escalated()
    secret = "財政課に確認中（内部限り）NOTE-7731"
    staff_world.note(case.id, secret, user=STAFF_MEMBER, card_ts=card_ts)
    update = staff_world.slack.wait_for(
        "chat.update", lambda c: c.params.get("ts") == card_ts and "NOTE-7731" in card_text_of(c))
    assert update.params["channel"] == STAFF_CHANNEL            # shown to staff, on their card
    assert "相談者には表示されません" in staff_world.ephemeral_to(STAFF_MEMBER).params["text"]
    detail = staff_world.store.case_detail(case.id)
    assert [e.text for e in detail.events if e.kind == EventKind.NOTE] == [secret]
    assert detail.case.status == CaseStatus.NEEDS_STAFF        # a note changes no status

    # Keep working the case: take it, reply and resolve; the officer hears about all of that...
    staff_world.click(sids.STAFF_ASSIGN, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    staff_world.reply(case.id, "ご確認ありがとうございます。", user=STAFF_MEMBER, card_ts=card_ts)
    staff_world.click(sids.STAFF_RESOLVE, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    staff_world.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root
                               and "解決済み" in c.params.get("text", ""))
    staff_world.home_opened(OFFICER)
    # ...but the note text never appears in anything sent to the officer (channel, DM or home).
    officer_side = [c for c in staff_world.slack.calls()
                    if c.params.get("channel") in (OFFICE_CHANNEL, OFFICER, f"D{OFFICER}")
                    or c.params.get("user_id") == OFFICER or c.params.get("user") == OFFICER]
    assert len(officer_side) >= 4
    leaks = [c for c in staff_world.slack.calls() if "NOTE-7731" in params_text(c)]
    assert leaks and all(c.params.get("channel") == STAFF_CHANNEL for c in leaks), leaks
    assert not [e for e in staff_world.store.case_detail(case.id, include_internal=False).events
                if e.kind == EventKind.NOTE]


def test_resolve_tells_the_officer_and_a_new_message_reopens_the_card(staff_world):
    case, root, card_ts = staff_world.escalated()
    staff_world.click(sids.STAFF_RESOLVE, case.id, user=STAFF_LEAD, card_ts=card_ts)
    notice = staff_world.slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == root
        and "解決済み" in c.params.get("text", ""))
    assert notice.params["channel"] == OFFICE_CHANNEL and case.ref in notice.params["text"]
    resolved = staff_world.slack.wait_for(
        "chat.update", lambda c: c.params.get("ts") == card_ts and "✅ 解決済み" in card_text_of(c))
    assert [e["action_id"] for b in resolved.params["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == [sids.STAFF_NOTE]
    assert staff_world.store.get_case(case.id).status == CaseStatus.RESOLVED

    # Resolving twice changes nothing and tells the staff member.
    staff_world.click(sids.STAFF_RESOLVE, case.id, user=STAFF_LEAD, card_ts=card_ts)
    assert "すでに解決済み" in staff_world.ephemeral_to(STAFF_LEAD).params["text"]
    assert len([c for c in staff_world.officer_thread_posts(root)
                if "解決済み" in c.params.get("text", "")]) == 1

    # The officer writes again in the thread: the consultation path reopens the case (real store
    # call), and the card is updated in place when notify_staff is called.
    conv = Conversation(kind="slack", workspace="T111", channel=OFFICE_CHANNEL, thread_ts=root)
    begun = staff_world.store.begin_turn(conv, Requester(OFFICER), "追加で、様式はどこにありますか？")
    assert begun.reopened
    notify_staff(staff_world.bot.app.client, staff_world.bot.services, case.id, "reopened")
    reopened = staff_world.slack.wait_for(
        "chat.update", lambda c: c.params.get("ts") == card_ts and "🔁" in card_text_of(c))
    text = card_text_of(reopened)
    assert "様式はどこにありますか" in text and "✅ 解決済み" not in text
    assert len(staff_world.staff_posts()) == 1


def test_non_staff_are_refused_politely_and_nothing_changes(staff_world):
    case, root, card_ts = staff_world.escalated()
    before = staff_world.store.case_detail(case.id)
    calls_before = {m: len(staff_world.slack.calls(m)) for m in ("chat.update", "views.open",
                                                                  "chat.postMessage")}
    n = 0
    for action in (sids.STAFF_ASSIGN, sids.STAFF_REPLY, sids.STAFF_NOTE, sids.STAFF_RESOLVE):
        staff_world.click(action, case.id, user=OUTSIDER, card_ts=card_ts)
        n += 1
        assert staff_world.ephemeral_to(OUTSIDER, count=n).params["text"] == REFUSAL_TEXT
    # Forged modal submissions (no modal was ever opened for them) are refused too.
    metadata = json.dumps({"case_id": case.id, "channel": STAFF_CHANNEL})
    for callback, block, action in ((sids.STAFF_REPLY_VIEW, sids.REPLY_BLOCK, sids.REPLY_INPUT),
                                    (sids.STAFF_NOTE_VIEW, sids.NOTE_BLOCK, sids.NOTE_INPUT)):
        staff_world.submit(callback, block, action, "勝手な回答 FORGED-1", private_metadata=metadata,
                           user=OUTSIDER)
        n += 1
        refusal = staff_world.ephemeral_to(OUTSIDER, count=n)
        assert refusal.params["text"] == REFUSAL_TEXT
        assert refusal.params["channel"] == STAFF_CHANNEL
    assert "担当職員の方のみ" in REFUSAL_TEXT
    after = staff_world.store.case_detail(case.id)
    assert after == before                                   # status, assignee, events: unchanged
    assert {m: len(staff_world.slack.calls(m)) for m in calls_before} == calls_before
    assert not [c for c in staff_world.slack.calls() if "FORGED-1" in params_text(c)]


def test_staff_by_setting_and_by_channel_membership_with_a_short_cache(slack_api, make_settings):
    slack_api.set_members("C0STAFF", ["U0STAFF"])
    client = WebClient(base_url=slack_api.url, token="xoxb-test")
    settings = make_settings(CONSULT_STAFF_CHANNEL="C0STAFF", CONSULT_STAFF_USERS="U0LEAD, U0OTHER",
                             CONSULT_LOCAL_OPERATOR="cli:operator")
    policy = DefaultStaffPolicy.from_settings(settings, client)
    assert policy.is_staff("U0LEAD")
    assert slack_api.calls("conversations.members") == []      # the setting needs no API call
    assert policy.is_staff("cli:operator")                      # the person at the machine
    assert policy.is_staff("U0STAFF")
    assert not policy.is_staff("W999")
    assert not policy.is_staff(None)
    assert len(slack_api.calls("conversations.members")) == 1  # cached between checks
    policy.clear_cache()
    slack_api.fail("conversations.members", error="channel_not_found")
    assert not policy.is_staff("U0STAFF")    # lookup failed: fail closed
    assert policy.is_staff("U0LEAD")          # the explicit list still works
    no_channel = DefaultStaffPolicy.from_settings(make_settings(CONSULT_STAFF_USERS="U0LEAD"),
                                                  client)
    assert not no_channel.is_staff("U0STAFF")
    no_slack = DefaultStaffPolicy.from_settings(settings, None)  # no token: no lookup at all
    assert no_slack.is_staff("U0LEAD") and not no_slack.is_staff("U0STAFF")


def test_staff_app_home_shows_the_queue_in_order_with_counts(staff_world):
    store = staff_world.store
    taken, taken_root = staff_world.consultation("地域おこし協力隊の任期後の支援について")
    staff_world.escalate(taken, taken_root)
    store.assign(taken.id, STAFF_MEMBER)
    older, older_root = staff_world.consultation("ふるさと納税の返礼品の基準について")
    staff_world.escalate(older, older_root)
    newer, newer_root = staff_world.consultation("特定地域づくり事業協同組合の設立手続き")
    staff_world.escalate(newer, newer_root)
    done, _ = staff_world.consultation("DX アドバイザーの派遣について")
    store.resolve(done.id, actor=STAFF_LEAD)
    answered_only, _ = staff_world.consultation("交付金の対象経費について")

    view = staff_world.home_opened(STAFF_MEMBER).params["view"]
    text = json.dumps(view, ensure_ascii=False)
    assert "相談キュー（職員用）" in text
    assert "職員対応待ち *2* 件" in text and "対応中 *1* 件" in text and "あなたの担当 1 件" in text
    positions = [text.index(f"*{c.ref}*") for c in (older, newer, taken)]
    assert positions == sorted(positions)          # needs_staff (oldest first), then in_progress
    assert f"*{done.ref}*" not in text and f"*{answered_only.ref}*" not in text.split("相談キュー")[1]
    # officers never see the staff queue
    officer_view = staff_world.home_opened(OFFICER).params["view"]
    assert "相談キュー" not in json.dumps(officer_view, ensure_ascii=False)

    # Assigning from the App Home works without a channel and refreshes the home view.
    published = len(staff_world.slack.ok_calls("views.publish"))
    staff_world.click(sids.STAFF_ASSIGN, older.id, user=STAFF_MEMBER, channel=None)
    staff_world.slack.wait_for("views.publish", count=published + 1)
    assert store.get_case(older.id).assignee == STAFF_MEMBER
    refreshed = staff_world.slack.ok_calls("views.publish")[-1].params["view"]
    assert "職員対応待ち *1* 件" in json.dumps(refreshed, ensure_ascii=False)


def test_reply_to_a_console_case_is_recorded_only(staff_world):
    store = staff_world.store

    conv = Conversation(kind="console", thread_ts="session-1")
    case, _ = store.add_turn(conv, Requester("console:taro", "taro"), "地域政策推進事業費の対象は？",
                             Answer(text="資料からは見つかりませんでした。", answered=False, mode="none"))
    assert case.status == CaseStatus.NEEDS_STAFF                 # the bot could not answer
    notify_staff(staff_world.bot.app.client, staff_world.bot.services, case.id, "not_answered")
    card = staff_world.staff_posts()[-1]
    assert "記録のみ" in card_text_of(card) and "ボットは回答できませんでした" in card_text_of(card)
    card_ts = card.response["ts"]
    staff_world.reply(case.id, "対象経費は要綱別表のとおりです。", user=STAFF_MEMBER, card_ts=card_ts)
    assert "記録のみ行いました" in staff_world.ephemeral_to(STAFF_MEMBER).params["text"]
    events = store.case_detail(case.id).events
    assert [e.text for e in events if e.kind == EventKind.STAFF_REPLY] == ["対象経費は要綱別表のとおりです。"]
    assert all(c.params.get("channel") == STAFF_CHANNEL for c in staff_world.slack.calls("chat.postMessage"))


def test_a_reply_that_cannot_be_posted_is_not_recorded_and_the_text_is_given_back(staff_world):
    case, root, card_ts = staff_world.escalated()
    view = staff_world.open_modal(sids.STAFF_REPLY, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    staff_world.slack.fail("chat.postMessage", error="channel_not_found")
    staff_world.submit(sids.STAFF_REPLY_VIEW, sids.REPLY_BLOCK, sids.REPLY_INPUT,
                       "申請書は <様式1> をお使いください。", private_metadata=view["private_metadata"],
                       user=STAFF_MEMBER)
    told = staff_world.ephemeral_to(STAFF_MEMBER).params["text"]
    assert "投稿できませんでした" in told and "申請書は &lt;様式1&gt; をお使いください。" in told
    detail = staff_world.store.case_detail(case.id)
    assert not [e for e in detail.events if e.kind == EventKind.STAFF_REPLY]
    assert detail.case.status == CaseStatus.NEEDS_STAFF


def test_a_deleted_card_is_posted_again_and_remembered(staff_world):
    case, root, card_ts = staff_world.escalated()
    staff_world.slack.fail("chat.update", error="message_not_found")
    staff_world.click(sids.STAFF_ASSIGN, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    new_card = staff_world.slack.wait_for(
        "chat.postMessage", lambda c: c.params["channel"] == STAFF_CHANNEL and "対応中" in
        card_text_of(c))
    wait_until(lambda: staff_world.store.get_staff_message(case.id) ==
               (STAFF_CHANNEL, new_card.response["ts"]), what="new card stored")
    assert len(staff_world.staff_posts()) == 2


def test_modal_input_over_the_limit_is_refused_in_the_modal(staff_world):
    case, root, card_ts = staff_world.escalated()
    view = staff_world.open_modal(sids.STAFF_NOTE, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    resp = staff_world.submit(sids.STAFF_NOTE_VIEW, sids.NOTE_BLOCK, sids.NOTE_INPUT, "長" * 3001,
                              private_metadata=view["private_metadata"], user=STAFF_MEMBER)
    assert resp.json()["response_action"] == "errors"
    assert "3000 文字以内" in resp.json()["errors"][sids.NOTE_BLOCK]
    assert not [e for e in staff_world.store.case_detail(case.id).events if e.kind == EventKind.NOTE]


def test_simultaneous_notifications_post_one_card(staff_world):
    from concurrent.futures import ThreadPoolExecutor

    case, _root = staff_world.consultation("地域おこし協力隊の募集経費は対象になりますか？")
    staff_world.store.escalate(case.id, actor=OFFICER)
    client, services = staff_world.bot.app.client, staff_world.bot.services
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: notify_staff(client, services, case.id, "requested"), range(6)))
    posts = [c for c in staff_world.staff_posts() if case.ref in c.params.get("text", "")]
    assert len(posts) == 1
    card_ts = posts[0].response["ts"]
    assert len(staff_world.card_updates(card_ts)) == 5
    assert staff_world.store.get_staff_message(case.id) == (STAFF_CHANNEL, card_ts)
