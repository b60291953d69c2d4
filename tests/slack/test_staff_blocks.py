"""Unit tests of the pure staff Block Kit builders (no Slack, no database)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.slack.staff import ids
from bot.slack.staff.card import build_staff_card, card_text
from bot.slack.staff.home import build_staff_home_view
from bot.slack.staff.model import NoteLine, SourceLine, StaffCase
from bot.slack.staff.modals import build_note_modal, build_reply_modal, modal_input, parse_metadata
from bot.slack.staff.notices import officer_notice_text, staff_reply_text

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def make_case(**kw) -> StaffCase:
    values = dict(
        case_id=12, ref="相談#12", status="needs_staff",
        question="地域づくり総合交付金の申請期限を教えてください。",
        answer="申請期限は毎年度の要綱で定めます [1]。", answer_mode="extractive",
        sources=(SourceLine("地域づくり総合交付金 要綱", "第3条 申請", 4),),
        municipality="上川町", requester_id="U0OFFICER", requester_name="上川 太郎",
        reason="requested", created_at=T0, turn_count=1,
    )
    values.update(kw)
    return StaffCase(**values)


def all_text(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def action_ids(blocks) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_card_shows_reference_municipality_requester_question_answer_sources_reason():
    blocks = build_staff_card(make_case())
    text = all_text(blocks)
    for expected in ("相談#12", "上川町", "<@U0OFFICER>", "申請期限を教えてください",
                     "申請期限は毎年度の要綱で定めます", "地域づくり総合交付金 要綱 › 第3条 申請",
                     "4 ページ", "職員への相談を希望", "職員対応待ち", "未割り当て",
                     "資料の抜粋による回答"):
        assert expected in text, expected
    assert action_ids(blocks) == [ids.STAFF_ASSIGN, ids.STAFF_REPLY, ids.STAFF_NOTE,
                                  ids.STAFF_RESOLVE]
    actions = next(b for b in blocks if b["type"] == "actions")
    assert actions["block_id"] == ids.CARD_ACTIONS_BLOCK
    assert {e["value"] for e in actions["elements"]} == {"12"}
    assert [e["text"]["text"] for e in actions["elements"]] == ["担当する", "回答する", "メモ", "解決済み"]


def test_card_follows_status_and_assignee():
    taken = build_staff_card(make_case(status="in_progress", assignee="U0STAFF"))
    assert "<@U0STAFF>" in all_text(taken) and "対応中" in all_text(taken)
    labels = [e["text"]["text"] for b in taken if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["担当を引き継ぐ", "回答する", "メモ", "解決済み"]   # taken: others may take over
    done = build_staff_card(make_case(status="resolved", assignee="U0STAFF"))
    assert "解決済み" in all_text(done)
    assert action_ids(done) == [ids.STAFF_NOTE]
    assert "職員対応が必要な理由" not in all_text(done)
    reopened = build_staff_card(make_case(reason="reopened"))
    assert "新しいメッセージが届きました" in all_text(reopened)


def test_user_model_and_document_text_is_escaped_everywhere():
    evil = "<!channel> & <https://evil.example|ここをクリック>"
    case = make_case(question=evil, answer=evil, municipality=evil, requester_id="console:taro",
                     requester_name=evil, title=evil, reason=evil,
                     sources=(SourceLine(evil, evil, None),),
                     notes=(NoteLine("U0STAFF", evil, T0),))
    surfaces = [build_staff_card(case), build_reply_modal(case), build_note_modal(case),
                build_staff_home_view([case], []), staff_reply_text("U0STAFF", evil),
                card_text(case)]
    for surface in surfaces:
        text = all_text(surface)
        assert "<!channel>" not in text and "<https://evil" not in text
        assert "&lt;!channel&gt; &amp; &lt;https://evil.example|ここをクリック&gt;" in text


def test_long_text_stays_within_slack_limits():
    case = make_case(question="質" * 10_000, answer="答" * 10_000)
    for block in build_staff_card(case):
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    assert len(build_staff_card(case)) <= 50


def test_notes_show_on_staff_card_only_latest_three():
    notes = tuple(NoteLine("U0STAFF", f"メモ{i}", T0) for i in range(5))
    text = all_text(build_staff_card(make_case(notes=notes)))
    assert "内部メモ 5 件" in text
    assert "メモ4" in text and "メモ2" in text and "メモ1" not in text


def test_reply_and_note_modals_round_trip_metadata_and_input():
    case = make_case()
    reply = build_reply_modal(case, "C0STAFF")
    assert reply["callback_id"] == ids.STAFF_REPLY_VIEW
    assert parse_metadata(reply["private_metadata"]) == (12, "C0STAFF")
    assert len(reply["title"]["text"]) <= 24 and reply["submit"]["text"] == "送信する"
    note = build_note_modal(case)
    assert note["callback_id"] == ids.STAFF_NOTE_VIEW
    assert "相談者には一切表示されません" in all_text(note)
    state = {"state": {"values": {ids.NOTE_BLOCK: {ids.NOTE_INPUT: {"value": "  確認済み \n"}}}}}
    assert modal_input(state, ids.NOTE_BLOCK, ids.NOTE_INPUT) == "確認済み"
    assert modal_input({}, ids.NOTE_BLOCK, ids.NOTE_INPUT) == ""
    assert parse_metadata("not json") == (None, None)


def test_console_case_reply_modal_says_reply_is_recorded_only():
    modal = build_reply_modal(make_case(slack_thread=False))
    assert "記録にのみ残ります" in all_text(modal)


def test_officer_texts_are_polite_japanese_and_attributed():
    assert staff_reply_text("U0STAFF", "ご確認ください").startswith("<@U0STAFF>（担当職員）より：\n")
    taken = officer_notice_text("assigned", "相談#12", "U0STAFF")
    assert "相談#12" in taken and "<@U0STAFF>" in taken and "いたします" in taken
    done = officer_notice_text("resolved", "相談#12")
    assert "解決済み" in done and "ご返信ください" in done
    with pytest.raises(ValueError):
        officer_notice_text("unknown", "相談#12")


def test_home_queue_needs_staff_first_then_in_progress_oldest_first_with_counts():
    waiting = [make_case(case_id=i, ref=f"相談#{i}", created_at=T0 + timedelta(hours=h))
               for i, h in ((3, 5), (1, 9), (2, 1))]
    working = [make_case(case_id=7, ref="相談#7", status="in_progress", assignee="U0ME",
                         created_at=T0 + timedelta(hours=3)),
               make_case(case_id=8, ref="相談#8", status="in_progress", assignee="U0OTHER",
                         created_at=T0)]
    view = build_staff_home_view(waiting, working, user_id="U0ME")
    assert view["type"] == "home"
    text = all_text(view)
    assert "職員対応待ち *3* 件" in text and "対応中 *2* 件" in text and "あなたの担当 1 件" in text
    order = [text.index(f"*相談#{n}*") for n in (2, 3, 1, 8, 7)]
    assert order == sorted(order)


def test_home_queue_is_capped_below_slack_block_limit():
    many = [make_case(case_id=i, ref=f"相談#{i}", created_at=T0 + timedelta(minutes=i))
            for i in range(40)]
    view = build_staff_home_view(many, many)
    assert len(view["blocks"]) <= 100
    assert "ほか 28 件" in all_text(view)
    counted = build_staff_home_view(many[:5], [], counts={"needs_staff": 130, "in_progress": 0})
    assert "職員対応待ち *130* 件" in all_text(counted) and "ほか 125 件" in all_text(counted)
    empty = build_staff_home_view([], [])
    assert "該当する相談はありません" in all_text(empty)


def test_reopened_case_card_says_so_until_it_is_resolved():
    text = all_text(build_staff_card(make_case(status="answered", reason=None, reopened=True)))
    assert "🔁" in text and "新しいメッセージが届きました" in text
    assert "🔁" not in all_text(build_staff_card(make_case(status="resolved", reopened=True)))


def test_home_queue_orders_by_time_waiting_for_staff():
    # created earlier but escalated later: waits less
    early = make_case(case_id=1, ref="相談#1", created_at=T0, waiting_since=T0 + timedelta(days=2))
    late = make_case(case_id=2, ref="相談#2", created_at=T0 + timedelta(days=1),
                     waiting_since=T0 + timedelta(days=1))
    text = all_text(build_staff_home_view([early, late], []))
    assert text.index("*相談#2*") < text.index("*相談#1*")


def test_thread_link_is_only_an_http_link_that_cannot_break_out():
    ok = all_text(build_staff_card(make_case(thread_link="https://x.slack.com/archives/C1/p1")))
    assert "<https://x.slack.com/archives/C1/p1|スレッドを開く>" in ok
    evil = all_text(build_staff_card(make_case(thread_link="https://x/a|<!channel>")))
    assert "<!channel>" not in evil and "%7C%3C!channel%3E" in evil
    assert "スレッドを開く" not in all_text(build_staff_card(make_case()))
    assert "スレッドを開く" not in all_text(build_staff_card(make_case(thread_link="javascript:x")))


def test_replies_and_notices_by_someone_without_a_slack_id_do_not_forge_a_mention():
    assert staff_reply_text("cli:operator", "回答です").startswith("担当職員より：\n")
    assert staff_reply_text("cli:operator", "x", "道庁 <!here>").startswith("道庁 &lt;!here&gt;（担当職員）より")
    assert "<@" not in officer_notice_text("assigned", "相談#1", "cli:operator")
    assert "<@U0STAFF>" in officer_notice_text("assigned", "相談#1", "U0STAFF")
