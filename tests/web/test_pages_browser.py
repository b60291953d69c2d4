"""The list pages in a real browser (Debian's Chromium via Playwright, a Japanese font): filter and
search the queue (the URL keeps the filters, the back button works), export (download the files
and open them), look at the dashboard, the 👎 list and the index status. A screenshot of each page
is saved in the test's temporary folder (and copied to ``SCREENSHOTS_DIR`` when set)."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
from openpyxl import load_workbook

from bot.cases.store import CaseStore
from tests.cases.report_data import (DECLINE, SECTION_DX, SECTION_KOUFUKIN, SECTION_KYORYOKUTAI,
                                     Clock, answer, ask)
from tests.web.conftest import STAFF
from tests.web.test_browser import shot

pytestmark = pytest.mark.timeout(300)

MUNICIPALITIES = ("旭川市", "函館市", "帯広市", "北見市", "上川町", "東川町", "ニセコ町", "釧路町",
                  "網走市", "稚内市", "美瑛町", "当別町")
QUESTIONS = (
    ("地域づくり総合交付金の申請期限はいつですか", "申請は各振興局が定める期限までに行います。", SECTION_KOUFUKIN),
    ("地域おこし協力隊の任期終了後の定住支援について教えてください", "任期終了後の移住定住促進のため、起業・就業の支援があります。", SECTION_KYORYOKUTAI),
    ("DX人材の派遣を受けたいのですが手続きは？", "北海道 DX 推進アドバイザーの派遣制度があります。", SECTION_DX),
    ("交付金の対象経費に備品購入は含まれますか", "対象経費は交付要綱の別表で定めています。", SECTION_KOUFUKIN),
    ("協力隊員の活動経費の上限額は？", "活動経費は 1 人あたりの上限額が定められています。", SECTION_KYORYOKUTAI),
)


def seed_weeks(settings, weeks: int = 8, per_week: int = 7, seed: int = 3) -> dict[str, int]:
    """Varied consultations over the last ``weeks`` weeks (real dates), through the store."""
    r = random.Random(seed)
    clock = Clock(datetime.now(timezone.utc) - timedelta(weeks=weeks))
    store = CaseStore.from_settings(settings, clock=clock)
    ids: dict[str, int] = {}
    try:
        for n in range(weeks * per_week):
            clock.advance(hours=r.uniform(12, 36) * 7 / per_week)
            q, a, section = r.choice(QUESTIONS)
            declined = r.random() < 0.2
            case_id, turn_id = ask(store, f"w{n}", q, answer(DECLINE if declined else a,
                                                             None if declined else section,
                                                             answered=not declined),
                                   user=f"U{r.randrange(40):03d}", municipality=r.choice(MUNICIPALITIES))
            ids[f"w{n}"] = case_id
            roll = r.random()
            if not declined and roll < 0.5:
                store.record_feedback(turn_id, user_id="U1", value="up")
            elif not declined and roll < 0.65:
                store.record_feedback(turn_id, user_id="U1", value="down",
                                      comment=r.choice(["具体的な期限が知りたい", "うちの町の場合は？", None]))
            elif not declined and roll < 0.75:
                store.escalate(case_id, actor="U1")
            view = store.get_case(case_id)
            if view.status == "needs_staff" and r.random() < 0.7 and n < weeks * per_week - 6:
                clock.advance(hours=r.uniform(1, 20))
                store.assign(case_id, STAFF)
                store.add_staff_reply(case_id, "担当より回答いたします。", actor=STAFF)
                if r.random() < 0.7:
                    clock.advance(hours=r.uniform(1, 48))
                    store.resolve(case_id, actor=STAFF)
    finally:
        store.close()
    return ids


def fits_1366(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_filter_and_search_the_queue(console, signed_in_page, live_console, tmp_path):
    seed_weeks(console.settings)
    page = signed_in_page(STAFF)
    assert page.locator("nav.tabs a[aria-current=page]").inner_text().startswith("職員対応待ち")
    assert fits_1366(page)
    shot(page, tmp_path, "queue-needs-staff")

    # search a word inside running text (no spaces) on the すべて tab
    page.get_by_role("link", name="すべて").click()
    page.get_by_label("キーワード").fill("協力隊")
    page.get_by_role("button", name="検索").click()
    page.wait_for_url("**q=*")
    query = parse_qs(urlparse(page.url).query)
    assert query["q"] == ["協力隊"] and query["tab"] == ["all"]
    titles = page.locator("table.queue td.title").all_inner_texts()
    assert titles and all("協力隊" in t for t in titles)
    searched = len(titles)

    # add a filter: the URL keeps both, the list narrows
    municipality = page.locator("table.queue td.clip").first.inner_text()
    page.get_by_label("市町村").select_option(municipality)
    page.get_by_role("button", name="絞り込む").click()
    page.wait_for_url("**municipality=*")
    assert parse_qs(urlparse(page.url).query)["q"] == ["協力隊"]
    narrowed = page.locator("table.queue tbody tr").count()
    assert 1 <= narrowed <= searched
    assert all(m == municipality for m in page.locator("table.queue td.clip").all_inner_texts()[::3])
    assert fits_1366(page)
    shot(page, tmp_path, "queue-search")

    # the back button returns to the unfiltered search
    page.go_back()
    assert "municipality" not in page.url and "q=" in page.url
    assert page.locator("table.queue td.title").count() == searched
    assert page.get_by_label("キーワード").input_value() == "協力隊"


def test_export_downloads_open(console, signed_in_page, live_console, tmp_path):
    seed_weeks(console.settings, weeks=3)
    page = signed_in_page(STAFF)
    page.goto(live_console.url + "/?tab=all&q=%E4%BA%A4%E4%BB%98%E9%87%91")   # 交付金
    expected = int(page.locator("nav.tabs a[aria-current=page] .count").inner_text())
    assert expected > 0
    page.get_by_role("link", name="この条件でエクスポート").click()
    page.wait_for_url("**/export?**")
    assert "キーワード: 交付金" in page.locator("main").inner_text()
    shot(page, tmp_path, "export")

    with page.expect_download() as info:
        page.get_by_role("button", name="ダウンロード").click()
    path = tmp_path / "export.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["相談番号", "状態", "依頼者ID"]
    assert len({r[0] for r in rows[1:]}) == expected
    assert all(":" in r[8] and r[8].startswith("20") for r in rows[1:])      # JST date-times

    page.get_by_label("Excel ファイル（xlsx）").check()
    page.get_by_label("相談ごとに 1 行").check()
    with page.expect_download() as info:
        page.get_by_role("button", name="ダウンロード").click()
    xlsx = tmp_path / "export.xlsx"
    info.value.save_as(xlsx)
    ws = load_workbook(xlsx).active
    assert ws.cell(1, 1).value == "相談番号" and ws.max_row == expected + 1
    assert any("交付金" in (ws.cell(r, 6).value or "") for r in range(2, ws.max_row + 1))


def test_dashboard_feedback_and_documents(console, signed_in_page, live_console, tmp_path,
                                          bundled_index_dir):
    import shutil

    seed_weeks(console.settings)
    shutil.copytree(bundled_index_dir, console.settings.data_dir, dirs_exist_ok=True)
    page = signed_in_page(STAFF)
    page.get_by_role("link", name="集計").click()
    page.wait_for_url("**/stats")
    charts = page.locator("svg.chart")
    assert charts.count() == 6 and charts.first.is_visible()
    assert page.locator("svg.chart rect").count() > 20
    assert "週ごとの相談件数" in page.locator("main").inner_text()
    assert fits_1366(page)
    shot(page, tmp_path, "dashboard")
    page.get_by_role("link", name="直近 4 週間").click()
    page.wait_for_url("**period=4w")
    assert page.locator("table.numbers").first.locator("tbody tr").count() in (4, 5)

    page.get_by_role("link", name="フィードバック").click()
    page.wait_for_url("**/feedback")
    assert page.locator("table.feedback tbody tr").count() >= 1
    assert fits_1366(page)
    shot(page, tmp_path, "feedback")

    page.get_by_role("link", name="資料").click()
    page.wait_for_url("**/documents")
    text = page.locator("main").inner_text()
    assert "multilingual-e5-small" in text and "よくある質問" in text
    shot(page, tmp_path, "documents")
