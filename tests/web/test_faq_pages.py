"""FAQ pages and the knowledge loop on the case page: routes (Starlette test client) for every
page and action with their refusals, and the whole flow in the real browser."""

from __future__ import annotations

import re

import pytest

from bot.faq.views import FaqStatus
from tests.web.conftest import LEAD, OUTSIDER, STAFF, csrf_of

SIMILAR_Q = "地域おこし協力隊の任期終了後の起業支援について、道の補助はありますか？"


def post(client, path: str, page_html: str, **fields):
    return client.post(path, data={"csrf_token": csrf_of(page_html), **fields})


def answered_case(console, question: str, reply: str, *, resolve: bool = True):
    case, root = console.slack_case(question)
    console.workflow.reply(LEAD, case.id, reply)
    if resolve:
        console.workflow.resolve(LEAD, case.id)
    return console.store.get_case(case.id)


def test_faq_from_a_case_edit_approve_with_warning_and_retire(console):
    case = answered_case(console, "協力隊の起業支援の補助はありますか？担当は佐藤です",
                         "起業支援は道の地域づくり総合交付金の対象です。詳しくは振興局（内線2345）へ。")
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}").text
    assert 'action="/faq/draft"' in page and "FAQにする" in page
    assert page.count('name="event_id"') == 1          # 「この回答を FAQにする」 under the staff reply

    made = post(client, "/faq/draft", page, case_id=str(case.id))
    assert made.status_code == 303
    entry_url = made.headers["location"]
    entry_id = int(entry_url.rsplit("/", 1)[1])
    page = client.get(entry_url).text
    assert f"FAQ#{entry_id} の下書きを作成しました" in page
    assert "佐藤" not in page and "〔氏名〕" in page      # the name was masked (the PII guard)
    assert "個人情報の確認" in page and "内線2345" in page   # what masking leaves is flagged
    assert "協力隊の起業支援の補助はありますか？" in page and "振興局（内線2345）へ" in page
    assert 'list="faq-sections"' in page

    refused = post(client, f"/faq/{entry_id}/approve", page)
    assert refused.status_code == 409 and "確認して承認する" in refused.text
    assert console.services.faq.faq.get(entry_id).status == FaqStatus.DRAFT

    saved = post(client, f"/faq/{entry_id}/save", page, question="協力隊員の任期後の起業に使える支援はありますか？",
                 answer="起業支援は道の地域づくり総合交付金の対象です。詳しくは振興局へ。",
                 category="地域おこし協力隊へのサポート", section="")
    assert saved.status_code == 303
    page = client.get(entry_url).text
    assert "個人情報の確認" not in page and "を保存しました" in page
    assert post(client, f"/faq/{entry_id}/approve", page).status_code == 303
    page = client.get(entry_url).text
    assert "承認済み" in page and "職員回答（" in page and case.ref in page

    listed = client.get("/faq?status=approved").text
    assert f'href="/faq/{entry_id}"' in listed and "地域おこし協力隊へのサポート" in listed
    assert re.search(r'承認済み <span class="count">1</span>', listed)

    retired = post(client, f"/faq/{entry_id}/retire", page, reason="制度変更")
    assert retired.status_code == 303
    page = client.get(entry_url).text
    assert "廃止" in page and "制度変更" in page and "変更：質問、回答、該当箇所、分類" in page
    trail = [(e.kind, e.actor) for e in console.services.faq.faq.detail(entry_id).events]
    assert trail == [("created", STAFF), ("edited", STAFF), ("approved", STAFF), ("retired", STAFF)]
    # the case page lists the entry made from it
    assert f'href="/faq/{entry_id}"' in client.get(f"/cases/{case.id}").text


def test_refusals_csrf_and_outsiders(console):
    case = answered_case(console, "質問 A", "回答 A")
    client = console.client(STAFF)
    page = client.get(f"/cases/{case.id}").text
    entry_id = int(post(client, "/faq/draft", page, case_id=str(case.id)).headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/faq/{entry_id}").text
    empty = post(client, f"/faq/{entry_id}/save", page, question=" ", answer="x", section="", category="")
    assert empty.status_code == 400 and "質問を入力してください。" in empty.text
    retire = post(client, f"/faq/{entry_id}/retire", page)
    assert retire.status_code == 409 and "まだ承認されていません" in retire.text
    for action in ("save", "approve", "reject", "retire"):
        assert client.post(f"/faq/{entry_id}/{action}", data={"question": "q"}).status_code == 403
    assert client.post("/faq/draft", data={"case_id": str(case.id)}).status_code == 403
    assert client.post("/faq/new", data={"question": "q", "answer": "a"}).status_code == 403
    # a case without a staff reply: told on the case page
    plain, _ = console.slack_case("返信のない相談")
    back = post(client, "/faq/draft", page, case_id=str(plain.id))
    assert back.status_code == 303 and back.headers["location"] == f"/cases/{plain.id}"
    assert "職員の回答がまだない" in client.get(f"/cases/{plain.id}").text
    assert post(client, "/faq/draft", page, case_id="abc").status_code == 400
    assert client.get("/faq/9999").status_code == 404
    outsider = console.client(None)
    assert outsider.get("/faq").status_code == 303          # to the sign-in page
    assert console.client(LEAD).get(f"/faq/{entry_id}").status_code == 200


def test_a_new_entry_from_scratch_is_escaped_and_masked(console):
    client = console.client(LEAD)
    page = client.get("/faq/new?question=%E5%87%BA%E5%BC%B5%E7%94%B3%E8%AB%8B%E3%81%AF%EF%BC%9F").text
    assert "出張申請は？</textarea>" in page
    made = post(client, "/faq/new", page, question="<script>alert(1)</script> の扱いは？",
                answer="担当 011-231-4111 まで", section="VI 市町村戦略支援", category="")
    assert made.status_code == 303
    shown = client.get(made.headers["location"]).text
    assert "<script>alert(1)" not in shown and "&lt;script&gt;" in shown
    assert "011-231-4111" not in shown and "〔電話番号〕" in shown


def test_similar_resolved_cases_and_one_click_reply(console):
    earlier = answered_case(console, SIMILAR_Q, "任期終了後の起業には、道の地域おこし協力隊ワンストップ窓口が相談に乗ります。")
    answered_case(console, "除雪車の更新に使える補助金はありますか？", "除雪車は交付金の対象外です。")
    now, _ = console.slack_case("協力隊の任期が終わった後に起業する場合、道の補助はありますか？")
    client = console.client(STAFF)
    # the case page does not wait for the search: a slot that /static/similar.js fills
    slot = client.get(f"/cases/{now.id}").text
    assert "類似の相談・FAQ" in slot and f'data-similar-src="/cases/{now.id}/similar"' in slot
    assert f'href="/cases/{earlier.id}"' not in slot
    assert f'href="/cases/{now.id}?similar=1"' in slot                 # without JavaScript
    fragment = client.get(f"/cases/{now.id}/similar")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert f'href="/cases/{earlier.id}"' in fragment.text
    assert console.client(None).get(f"/cases/{now.id}/similar").status_code == 303   # sign in
    page = client.get(f"/cases/{now.id}?similar=1").text
    assert "類似の相談・FAQ" in page and f'href="/cases/{earlier.id}"' in page
    assert "ワンストップ窓口が相談に乗ります" in page
    assert "除雪車は交付金の対象外です。" not in page    # not similar enough
    link = re.search(r'href="(/cases/\d+\?use=case:\d+#reply-text)"', page).group(1)
    assert f"use=case:{earlier.id}" in link
    filled = client.get(link.split("#")[0]).text
    assert re.search(r'<textarea id="reply-text"[^>]*>任期終了後の起業には、道の地域おこし協力隊ワンストップ窓口が相談に乗ります。</textarea>', filled)
    # an unknown or not-similar key fills nothing
    other = client.get(f"/cases/{now.id}?use=case:999999").text
    assert re.search(r'<textarea id="reply-text"[^>]*></textarea>', other)
    # an approved entry is a candidate too
    entry = console.services.faq.create(LEAD, question="協力隊の任期後に起業するときの道の支援は？",
                                        answer="起業支援の交付金があります。", approve=True).entry
    console.services.similar.candidates(fresh=True)
    page = client.get(f"/cases/{now.id}/similar").text
    assert f'href="/faq/{entry.id}"' in page and f"use=faq:{entry.id}" in page


def test_the_gap_page_groups_unanswered_questions(console):
    for q in ("除雪ボランティアの保険は補助されますか？", "除雪ボランティアの保険料に使える補助はありますか？",
              "公用車を電気自動車にする補助はありますか？"):
        console.slack_case(q, answered=False)
    client = console.client(STAFF)
    page = client.get("/gaps").text
    assert "知識ギャップ" in page and "質問 3 件を 2 の話題にまとめました" in page
    first = page.index("除雪ボランティアの保険")
    assert first < page.index("公用車を電気自動車") and "上川町" in page
    assert "FAQを書く" in page and 'href="/faq/new?question=' in page
    assert client.get("/gaps?period=all").status_code == 200


# ---------------------------------------------------------------------------- the real browser
def test_browser_faq_from_a_case_and_using_a_similar_answer(console, signed_in_page, tmp_path):
    earlier = answered_case(console, SIMILAR_Q, "任期後の起業はワンストップ窓口にご相談ください。")
    now, _ = console.slack_case("協力隊の任期が終わった後に起業する場合、道の補助はありますか？")
    page = signed_in_page(STAFF)
    base = page.url.split("/", 3)[:3]
    origin = "/".join(base)

    page.goto(f"{origin}/cases/{now.id}")
    panel = page.get_by_role("region", name="類似の相談・FAQ")
    panel.get_by_role("link", name="この回答を使う").first.click()
    assert page.locator("#reply-text").input_value() == "任期後の起業はワンストップ窓口にご相談ください。"
    page.screenshot(path=str(tmp_path / "case-similar.png"), full_page=True)

    page.goto(f"{origin}/cases/{earlier.id}")
    page.get_by_role("button", name="この回答を FAQにする").click()
    page.wait_for_url(re.compile(r".*/faq/\d+$"))
    page.get_by_label("質問").first.fill("協力隊の任期後の起業に道の支援はありますか？")
    page.get_by_label("分類（事業）").fill("地域おこし協力隊へのサポート")
    page.get_by_role("button", name="保存する").click()
    page.get_by_role("button", name="承認する").click()
    assert page.get_by_text("を承認しました").is_visible()
    page.screenshot(path=str(tmp_path / "faq-entry.png"), full_page=True)
    page.goto(f"{origin}/faq?status=approved")
    assert page.get_by_role("link", name=re.compile("協力隊の任期後の起業")).is_visible()
    page.screenshot(path=str(tmp_path / "faq-list.png"), full_page=True)
    page.goto(f"{origin}/gaps")
    page.screenshot(path=str(tmp_path / "gaps.png"), full_page=True)
    entries = console.services.faq.list(STAFF, "approved").entries
    assert [e.case_id for e in entries] == [earlier.id]


def test_browser_approve_after_the_warning_then_retire_and_reject(console, signed_in_page):
    named = answered_case(console, "協力隊の起業支援の補助はありますか？担当は佐藤です",
                          "起業支援は地域づくり総合交付金の対象です。内線2345へは振興局から連絡します。")
    other = answered_case(console, "除雪ボランティアの保険は補助されますか？", "保険料は対象外です。")
    page = signed_in_page(STAFF)
    origin = "/".join(page.url.split("/", 3)[:3])

    page.goto(f"{origin}/cases/{named.id}")
    page.get_by_role("button", name="この回答を FAQにする").click()
    page.wait_for_url(re.compile(r".*/faq/\d+$"))
    entry_id = int(page.url.rsplit("/", 1)[1])
    assert page.get_by_role("alert", name="個人情報の確認").is_visible()
    page.get_by_role("button", name="承認する", exact=True).click()
    # refused until confirmed: the warning and a 「確認して承認する」 button, nothing approved
    confirm = page.get_by_role("button", name="確認して承認する")
    confirm.wait_for()
    # names were masked by the PII guard; what it leaves (an extension number) is flagged
    assert "内線2345" in page.get_by_role("alert", name="個人情報の確認").inner_text()
    assert console.services.faq.faq.get(entry_id).status == FaqStatus.DRAFT
    confirm.click()
    page.get_by_text("を承認しました").wait_for()
    assert console.services.faq.faq.get(entry_id).status == FaqStatus.APPROVED

    page.get_by_label("廃止の理由（任意）").fill("制度改正のため")
    page.get_by_role("button", name="廃止する").click()
    page.get_by_text("を廃止しました").wait_for()
    assert page.get_by_text("廃止された FAQ は変更できません。").is_visible()
    assert console.services.faq.faq.get(entry_id).status == FaqStatus.RETIRED

    page.goto(f"{origin}/cases/{other.id}")
    page.get_by_role("button", name="この回答を FAQにする").click()
    page.wait_for_url(re.compile(r".*/faq/\d+$"))
    rejected_id = int(page.url.rsplit("/", 1)[1])
    page.get_by_label("却下の理由（任意）").fill("個別の事情による回答のため")
    page.get_by_role("button", name="却下する").click()
    page.get_by_text("を却下しました").wait_for()
    assert console.services.faq.faq.get(rejected_id).status == FaqStatus.REJECTED
    trail = [(e.kind, e.actor) for e in console.services.faq.faq.detail(entry_id).events]
    assert trail == [("created", STAFF), ("approved", STAFF), ("retired", STAFF)]
    assert [e.text for e in console.services.faq.faq.detail(rejected_id).events][-1] == "個別の事情による回答のため"
