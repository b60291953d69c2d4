"""The console in a real browser (Debian's Chromium driven by Playwright, a Japanese font): sign in
by a one-time login link, open a case, reply (the Slack stand-in receives it in the officer's
thread), add a note (never reaches the officer), take, resolve, reopen, fix the municipality.
A screenshot of each page is saved in the test's temporary folder (``SCREENSHOTS_DIR``, when set,
gets a copy: that is how docs/ screenshots are refreshed)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.web.conftest import LEAD, OFFICE_CHANNEL, OUTSIDER, STAFF, STAFF_CHANNEL

pytestmark = pytest.mark.timeout(300)


def shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("SCREENSHOTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    return path


def officer_texts(console, root: str) -> list[str]:
    return [c.params.get("text", "") for c in console.slack.ok_calls("chat.postMessage")
            if c.params.get("channel") == OFFICE_CHANNEL and c.params.get("thread_ts") == root]


def test_staff_work_a_case_in_the_browser(console, signed_in_page, tmp_path):
    case, root = console.slack_case("地域づくり総合交付金の申請期限と、必要な様式を教えてください。")
    console.console_case()
    page = signed_in_page(STAFF)
    assert page.url.endswith("/")
    assert page.get_by_role("link", name="相談一覧").is_visible()
    shot(page, tmp_path, "queue")

    page.get_by_role("link", name=case.ref).click()
    page.wait_for_url(f"**/cases/{case.id}")
    assert page.locator("h1").inner_text().startswith(case.ref)
    assert page.locator(".badge").first.inner_text() == "職員対応待ち"
    # the quoted passage opens in place
    page.locator(".sources summary").first.click()
    assert page.locator(".sources blockquote").first.is_visible()
    # the layout fits a 1366 px screen: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    # Japanese is drawn with a real Japanese font (IPA Gothic from fonts-ipafont-gothic)
    width = page.evaluate("""() => { const c = document.createElement('canvas').getContext('2d');
        c.font = '16px IPAGothic'; return c.measureText('相談').width; }""")
    assert width > 20
    shot(page, tmp_path, "case")

    # 担当する
    page.get_by_role("button", name="担当する").click()
    page.wait_for_selector(".flash-ok")
    assert f"{case.ref} を担当します" in page.locator(".flash-ok").inner_text()
    assert page.locator(".badge").first.inner_text() == "対応中"

    # 回答する -> the officer's Slack thread
    page.get_by_label("回答する").fill("申請期限は6月30日です。様式は交付要綱の別記をご利用ください。")
    page.get_by_role("button", name="相談者に回答を送信").click()
    page.wait_for_selector(".flash-ok")
    assert "回答を投稿しました" in page.locator(".flash-ok").inner_text()
    assert f"<@{STAFF}>（担当職員）より：\n申請期限は6月30日です。様式は交付要綱の別記をご利用ください。" \
        in officer_texts(console, root)
    assert page.locator(".staff-reply").first.is_visible()
    assert "道庁 花子（担当職員）の回答" in page.locator(".staff-reply .who").first.inner_text()

    # メモ (internal)
    page.get_by_label("内部メモ").fill("財政課に様式の最新版を確認中 NOTE-BROWSER-9")
    page.get_by_role("button", name="メモを保存").click()
    page.wait_for_selector(".flash-ok")
    assert "相談者には表示されません" in page.locator(".flash-ok").inner_text()
    assert page.locator("tr.internal").filter(has_text="NOTE-BROWSER-9").is_visible()
    leaks = [c for c in console.slack.calls() if "NOTE-BROWSER-9" in json.dumps(c.params, ensure_ascii=False)]
    assert all(c.params.get("channel") == STAFF_CHANNEL for c in leaks)
    assert not any("NOTE-BROWSER-9" in t for t in officer_texts(console, root))

    # 市町村の修正
    page.get_by_label("市町村の修正").fill("名寄市")
    page.get_by_role("button", name="修正する").click()
    page.wait_for_selector(".flash-ok")
    assert page.locator(".facts").inner_text().count("名寄市") == 1

    # 解決済み, then 再開
    page.get_by_role("button", name="解決済みにする").click()
    page.wait_for_selector(".flash-ok")
    assert page.locator(".badge").first.inner_text() == "解決済み"
    assert any("解決済み" in t for t in officer_texts(console, root))
    assert page.get_by_role("button", name="相談者に回答を送信").count() == 0
    shot(page, tmp_path, "case-resolved")
    page.get_by_role("button", name="再開する").click()
    page.wait_for_selector(".flash-ok")
    assert page.locator(".badge").first.inner_text() == "職員対応待ち"
    timeline = page.locator("table.timeline").inner_text()
    for label in ("担当", "職員回答", "メモ（内部）", "市町村変更", "解決", "再開"):
        assert label in timeline, label

    # keyboard: the skip link and the buttons are reachable, focus is visible
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    shot(page, tmp_path, "case-reopened")

    detail = console.store.case_detail(case.id)
    assert detail.case.municipality == "名寄市" and detail.case.status == "needs_staff"
    assert {e.actor for e in detail.events if e.kind != "opened" and e.kind != "escalated"} == {STAFF}


def test_a_refused_action_says_why_in_the_browser(console, signed_in_page, tmp_path):
    case, _ = console.slack_case()
    page = signed_in_page(LEAD)
    page.goto(page.url.rstrip("/") + f"/cases/{case.id}")
    console.workflow.resolve(STAFF, case.id)          # someone else resolved it meanwhile
    page.get_by_role("button", name="担当する").click()
    error = page.locator(".flash-error")
    assert error.inner_text() == (f"{case.ref} はすでに解決済みのため、担当を設定できません。"
                                  "再開してから操作してください。")
    shot(page, tmp_path, "case-refused")


def test_non_staff_see_the_polite_403_page(console, signed_in_page, tmp_path):
    page = signed_in_page(OUTSIDER)
    assert "このページは表示できません" in page.locator("h1").inner_text()
    assert "担当する職員の方のみ" in page.content()
    shot(page, tmp_path, "forbidden")
