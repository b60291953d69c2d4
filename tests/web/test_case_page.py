"""相談詳細: what the page shows (as the officer saw it, escaped), and every action through the
one staff workflow with its Slack effects (stand-in) and refusals."""

from __future__ import annotations

import json

from bot.cases.views import CaseStatus, EventKind
from tests.web.conftest import (LEAD, OFFICE_CHANNEL, OUTSIDER, STAFF, STAFF_CHANNEL, csrf_of)


def officer_posts(world, root: str) -> list[str]:
    return [c.params.get("text", "") for c in world.slack.ok_calls("chat.postMessage")
            if c.params.get("channel") == OFFICE_CHANNEL and c.params.get("thread_ts") == root]


def post(client, path: str, page_html: str, **fields):
    return client.post(path, data={"csrf_token": csrf_of(page_html), **fields})


def test_the_case_page_shows_everything_staff_need(console):
    case, root = console.slack_case("申請期限は <script>alert('x')</script> いつですか？")
    console.store.record_feedback(case=case.id, user_id="W0OFFICER", value="down",
                                  comment="様式の場所も知りたい")
    console.workflow.note(LEAD, case.id, "財政課に確認中")
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    html = page.text
    for expected in (case.ref, "職員対応待ち", "上川町", "上川 太郎", "未割り当て",
                     "要綱第3条により、申請は6月末までです [1]。", "資料の抜粋による回答",
                     "地域づくり総合交付金 交付要綱 › 第3条 申請（2 ページ）",
                     "申請期限は6月末とする。様式は別記のとおり。", "<details>", "根拠の強さ 0.80",
                     "answer-v3", "420 ms", "役に立たなかった", "様式の場所も知りたい",
                     "財政課に確認中", "職員のみ", "振興局 一郎", "相談者が職員への相談を希望されています。",
                     "役に立たなかった：様式の場所も知りたい",
                     "2026-"):
        assert expected in html, expected
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    permalink = f"https://hokkaido-test.slack.com/archives/{OFFICE_CHANNEL}/p{root.replace('.', '')}"
    assert f'href="{permalink}"' in html
    # every action of an open case is offered, each form with the CSRF token
    for action in ("take", "assign", "reply", "note", "resolve", "municipality"):
        assert f'action="/cases/{case.id}/{action}"' in html, action
    assert f'action="/cases/{case.id}/reopen"' not in html
    assert html.count('name="csrf_token"') >= 7
    # the navigation lists only pages that exist
    assert 'href="/"' in html


def test_take_reply_note_resolve_reopen_and_municipality(console):
    case, root = console.slack_case()
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}").text

    taken = post(client, f"/cases/{case.id}/take", page)
    assert taken.status_code == 303 and taken.headers["location"] == f"/cases/{case.id}"
    page = client.get(f"/cases/{case.id}").text
    assert f"{case.ref} を担当します。" in page                    # the flash after the redirect
    assert console.store.get_case(case.id).assignee == STAFF
    assert any("担当いたします" in t and f"<@{STAFF}>" in t for t in officer_posts(console, root))

    reply = "申請期限は6月30日です。<!channel> 電話 090-1234-5678 までどうぞ。"
    assert post(client, f"/cases/{case.id}/reply", page, text=reply).status_code == 303
    posted = [t for t in officer_posts(console, root) if "（担当職員）より" in t]
    assert posted == [f"<@{STAFF}>（担当職員）より：\n申請期限は6月30日です。&lt;!channel&gt; "
                      "電話 〔電話番号〕 までどうぞ。"]               # masked (issue 14), escaped
    stored = [e for e in console.store.case_detail(case.id).events if e.kind == EventKind.STAFF_REPLY]
    assert stored[0].actor == STAFF and "090-1234-5678" not in stored[0].text   # masked
    assert "〔電話番号〕" in stored[0].text

    secret = "内部限り NOTE-4411"
    page = client.get(f"/cases/{case.id}").text
    assert "回答を投稿しました" in page
    assert post(client, f"/cases/{case.id}/note", page, text=secret).status_code == 303
    assert not [c for c in console.slack.calls() if "NOTE-4411" in json.dumps(c.params, ensure_ascii=False)
                and c.params.get("channel") != STAFF_CHANNEL]

    page = client.get(f"/cases/{case.id}").text
    assert post(client, f"/cases/{case.id}/municipality", page, municipality="名寄市").status_code == 303
    assert console.store.get_case(case.id).municipality == "名寄市"
    assert "上川町 → 名寄市" in client.get(f"/cases/{case.id}").text      # the timeline says from what

    page = client.get(f"/cases/{case.id}").text
    assert post(client, f"/cases/{case.id}/resolve", page).status_code == 303
    assert console.store.get_case(case.id).status == CaseStatus.RESOLVED
    assert any("解決済み" in t for t in officer_posts(console, root))
    page = client.get(f"/cases/{case.id}").text
    assert f'action="/cases/{case.id}/reopen"' in page and f'action="/cases/{case.id}/reply"' not in page

    assert post(client, f"/cases/{case.id}/reopen", page).status_code == 303
    after = console.store.case_detail(case.id)
    assert after.case.status == CaseStatus.NEEDS_STAFF and after.case.escalation_reason == "staff"
    kinds = [(e.kind, e.actor) for e in after.events if e.actor == STAFF]
    assert kinds == [(EventKind.ASSIGNED, STAFF), (EventKind.STAFF_REPLY, STAFF),
                     (EventKind.NOTE, STAFF), (EventKind.MUNICIPALITY, STAFF),
                     (EventKind.RESOLVED, STAFF), (EventKind.REOPENED, STAFF)]
    # the staff card followed every change, in place
    cards = [c for c in console.slack.ok_calls("chat.postMessage") if c.params["channel"] == STAFF_CHANNEL]
    assert len(cards) == 1
    assert len([c for c in console.slack.ok_calls("chat.update")
                if c.params["ts"] == cards[0].response["ts"]]) >= 5


def test_reassign_to_another_staff_member(console):
    case, root = console.slack_case()
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}").text
    assert f'<option value="{LEAD}"' not in page or "振興局 一郎" in page
    assert post(client, f"/cases/{case.id}/assign", page, assignee=LEAD).status_code == 303
    assert console.store.get_case(case.id).assignee == LEAD
    events = console.store.case_detail(case.id).events
    assigned = [e for e in events if e.kind == EventKind.ASSIGNED][-1]
    assert assigned.actor == STAFF and assigned.text == LEAD


def test_refusals_are_shown_in_japanese_and_keep_the_typed_text(console):
    case, _ = console.slack_case()
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}").text
    empty = post(client, f"/cases/{case.id}/reply", page, text="   ")
    assert empty.status_code == 400 and "回答を入力してください。" in empty.text
    long = post(client, f"/cases/{case.id}/note", page, text="長" * 3001)
    assert long.status_code == 400 and "3000 文字以内" in long.text

    console.workflow.resolve(LEAD, case.id)
    refused = post(client, f"/cases/{case.id}/take", page)
    assert refused.status_code == 409
    assert f"{case.ref} はすでに解決済みのため、担当を設定できません。再開してから操作してください。" in refused.text
    draft = "下書き DRAFT-77 です"
    refused = post(client, f"/cases/{case.id}/reply", page, text=draft)
    assert refused.status_code == 409 and "回答を送信できません" in refused.text
    assert console.store.get_case(case.id).status == CaseStatus.RESOLVED
    again = post(client, f"/cases/{case.id}/resolve", page)
    assert again.status_code == 409 and "すでに解決済みです" in again.text


def test_a_reply_that_slack_refuses_is_not_recorded_and_is_kept(console):
    case, root = console.slack_case()
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}").text
    console.slack.fail("chat.postMessage", error="channel_not_found")
    resp = post(client, f"/cases/{case.id}/reply", page, text="届かない回答 KEEP-1")
    assert resp.status_code == 409 and "投稿できませんでした" in resp.text
    assert "届かない回答 KEEP-1</textarea>" in resp.text
    assert not [e for e in console.store.case_detail(case.id).events if e.kind == EventKind.STAFF_REPLY]


def test_a_console_case_reply_is_recorded_only(console):
    case = console.console_case()
    client = console.client(LEAD)
    page = client.get(f"/cases/{case.id}").text
    assert "Slack 以外で受け付けた相談" in page
    assert post(client, f"/cases/{case.id}/reply", page, text="要綱別表をご覧ください。").status_code == 303
    assert "記録のみ行いました" in client.get(f"/cases/{case.id}").text
    assert not [c for c in console.slack.ok_calls("chat.postMessage")
                if c.params.get("channel") != STAFF_CHANNEL]


def test_csrf_is_required_on_every_action(console):
    case, _ = console.slack_case()
    client = console.client(STAFF)
    client.get(f"/cases/{case.id}")
    for action in ("take", "assign", "reply", "note", "resolve", "reopen", "municipality"):
        missing = client.post(f"/cases/{case.id}/{action}", data={"text": "x", "assignee": LEAD})
        assert missing.status_code == 403, action
        wrong = client.post(f"/cases/{case.id}/{action}", data={"csrf_token": "0" * 64})
        assert wrong.status_code == 403, action
    # another member's token does not work either
    other = console.client(LEAD).get(f"/cases/{case.id}").text
    assert client.post(f"/cases/{case.id}/take", data={"csrf_token": csrf_of(other)}).status_code == 403
    detail = console.store.case_detail(case.id)
    assert detail.case.assignee is None and detail.case.status == CaseStatus.NEEDS_STAFF


def test_malformed_forms_get_400(console):
    case, _ = console.slack_case()
    client = console.client(STAFF)
    token = csrf_of(client.get(f"/cases/{case.id}").text)
    bad_utf8 = client.post(f"/cases/{case.id}/note", content=b"csrf_token=" + token.encode() +
                           b"&text=%FF%FE\xff", headers={"content-type": "application/x-www-form-urlencoded"})
    assert bad_utf8.status_code == 400 and "読み取れませんでした" in bad_utf8.text
    as_json = client.post(f"/cases/{case.id}/note", json={"csrf_token": token, "text": "x"})
    assert as_json.status_code == 400


def test_an_unknown_case_is_a_polite_404_and_outsiders_see_nothing(console):
    case, _ = console.slack_case()
    assert console.client(STAFF).get("/cases/424242").status_code == 404
    outsider = console.client(None)
    assert outsider.get(f"/cases/{case.id}").status_code == 303


def test_a_policy_that_lets_read_but_not_act_shows_a_read_only_page(console):
    """The seam issue 12 uses: a team-aware policy swapped in; the page hides the actions, and a
    forged POST is refused by the workflow itself; a case one may not read is a polite 403."""
    case, _ = console.slack_case()
    hidden, _ = console.slack_case("別チームの相談です")
    base = console.workflow.policy

    class ReadOnly:
        def is_staff(self, user_id):
            return base.is_staff(user_id)

        def can_read(self, user_id, c):
            return c.id != hidden.id

        def can_act(self, user_id, c):
            return False

        def known_staff(self):
            return base.known_staff()

    console.workflow.policy = ReadOnly()
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "閲覧のみ可能です" in page.text
    assert f'action="/cases/{case.id}/take"' not in page.text
    forged = client.post(f"/cases/{case.id}/take", data={"csrf_token": csrf_of(page.text)})
    assert forged.status_code == 403 and "担当職員の方のみ" in forged.text
    assert console.store.get_case(case.id).assignee is None
    other = client.get(f"/cases/{hidden.id}")
    assert other.status_code == 403 and "担当職員の方のみ" in other.text
