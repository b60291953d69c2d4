"""相談一覧, フィードバック, 集計, エクスポート, 資料 through the real app (Starlette TestClient),
signed in by a real login link: tabs, filters in the URL, search on text without spaces, paging,
the numbers of `consult cases stats`, downloads, and refusals for non-staff."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cases.store import CaseStore
from bot.cli import app as cli_app
from ingest import state
from tests.cases.report_data import Clock, seed
from tests.web.conftest import STAFF, STAFF_CHANNEL


@pytest.fixture
def seeded(console):
    """The known cases of tests/cases/report_data.py (2026-11-02, JST) in the console's database;
    k3 is assigned to U_STAFF1, k4 to U_STAFF2; one more case is assigned to the signed-in STAFF."""
    clock = Clock()
    store = CaseStore.from_settings(console.settings, clock=clock)
    data = seed(store, clock)
    store.close()
    return data


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def refs_in(html: str) -> list[str]:
    """相談番号 of the queue's rows, in order."""
    return re.findall(r'<td class="nowrap"><a href="/cases/\d+">(相談#\d+)</a></td>', html)


def ref(data, key: str) -> str:
    return f"相談#{data.ids[key]}"


# ---- 相談一覧 -----------------------------------------------------------------------------------

def test_queue_tabs_counts_and_default_order(console, seeded):
    client = console.client(STAFF)
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert refs_in(html) == [ref(seeded, "k2"), ref(seeded, "k5")]   # oldest waiting first
    tabs = dict(re.findall(r'<a href="[^"]*"(?: aria-current="page")?>([^<]+)<span class="count">'
                           r'([\d,]+)</span>', html))
    assert tabs == {"職員対応待ち": "2", "対応中": "1", "回答済み": "1", "解決済み": "1", "すべて": "5"}
    assert 'aria-current="page">職員対応待ち' in html
    assert "並び順: 待ち時間の長い順" in html and "2 件中 1〜2 件目" in html
    # each row: status badge, title link, municipality, 担当者, waiting time, overdue label
    assert "ふるさと納税の返礼品の基準は？" in html and "札幌市" in html and "未割り当て" in html
    assert "2営業日超" in html        # escalated 2026-11-02: long overdue by now
    all_tab = client.get("/?tab=all").text
    assert refs_in(all_tab) == [ref(seeded, k) for k in ("k5", "k4", "k3", "k2", "k1")]
    assert "👎" in all_tab and "地域づくり総合交付金" in all_tab and "並び順: 最終更新の新しい順" in all_tab


def test_search_without_spaces_and_filters_live_in_the_url(console, seeded):
    client = console.client(STAFF)
    html = client.get("/", params={"tab": "all", "q": "協力隊"}).text
    assert refs_in(html) == [ref(seeded, "k1")]
    assert 'value="協力隊"' in html
    # the tab links keep the search and the filters (shareable, the back button works)
    assert 'href="/?tab=resolved&amp;q=%E5%8D%94%E5%8A%9B%E9%9A%8A"' in html
    assert refs_in(client.get("/?tab=all&q=移住定住促進").text) == [ref(seeded, "k1")]  # answer text
    assert refs_in(client.get("/?tab=all&q=交付金+申請期限").text) == [ref(seeded, "k3")]
    both = client.get("/", params={"tab": "all", "municipality": "函館市", "q": "DX人材"}).text
    assert refs_in(both) == [ref(seeded, "k4")]
    assert "<option selected>函館市</option>" in both and "（絞り込み中）" in both
    short = client.get("/?tab=all&q=除雪").text
    assert refs_in(short) == [ref(seeded, "k5")] and "件名（最初の質問）だけから探しています" in short
    # a submitted form sends its empty fields too: redirected to the short address of the list
    submitted = client.get("/", params={"tab": "all", "q": "協力隊", "municipality": "", "since": ""})
    assert submitted.status_code == 303
    assert submitted.headers["location"] == "/?tab=all&q=%E5%8D%94%E5%8A%9B%E9%9A%8A"
    none = client.get("/?tab=all&q=存在しない語句").text
    assert refs_in(none) == [] and "条件に合う相談はありません" in none


def test_every_filter(console, seeded):
    client = console.client(STAFF)
    console.store.assign(seeded.ids["k2"], STAFF)

    def rows(**params):
        return refs_in(client.get("/", params={"tab": "all", **params}).text)

    assert rows(assignee="me") == [ref(seeded, "k2")]
    assert set(rows(assignee="none")) == {ref(seeded, "k1"), ref(seeded, "k5")}
    assert rows(assignee="U_STAFF2") == [ref(seeded, "k4")]
    assert rows(programme="地域おこし協力隊") == [ref(seeded, "k1")]
    assert rows(reason="negative_feedback") == [ref(seeded, "k3")]
    assert rows(thumbs_down="1") == [ref(seeded, "k3")]
    assert rows(municipality="-") == [ref(seeded, "k5")]
    assert len(rows(since="2026-11-02", until="2026-11-02")) == 5
    assert rows(since="2026-11-03") == []
    html = client.get("/", params={"assignee": "me"}).text
    assert '<option value="me" selected>自分</option>' in html
    assert "条件をすべて外す" in html


def test_paging_and_unreadable_parameters(console):
    clock = Clock()
    store = CaseStore.from_settings(console.settings, clock=clock)
    data = seed(store, clock, extra_answered=52)
    store.close()
    client = console.client(STAFF)
    first = client.get("/?tab=answered").text
    assert len(refs_in(first)) == 50 and "53 件中 1〜50 件目" in first
    assert 'href="/?tab=answered&amp;page=2" rel="next">次へ</a>' in first
    second = client.get("/?tab=answered&page=2").text
    assert refs_in(second) == [f"相談#{data.ids['x1']}", f"相談#{data.ids['x0']}", ref(data, "k1")]
    assert 'rel="prev">前へ</a>' in second and "53 件中 51〜53 件目" in second
    odd = client.get("/?tab=nope&page=abc&since=2026-13-01&reason=x")
    assert odd.status_code == 200
    for message in ("タブ「nope」は不明", "ページ番号「abc」", "開始日「2026-13-01」", "理由「x」は不明"):
        assert message in odd.text


def test_text_is_escaped_in_the_queue(console):
    console.slack_case("<script>alert(1)</script> の扱いは？")
    html = console.client(STAFF).get("/").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("path", ["/", "/?tab=all&q=協力隊", "/feedback", "/stats", "/export",
                                  "/export/download?format=csv", "/documents"])
def test_pages_refuse_non_staff_and_need_a_session(console, path):
    client = console.client(STAFF)
    assert client.get(path).status_code in (200, 400)
    console.slack.set_members(STAFF_CHANNEL, ["UBOT"])       # no longer staff
    console.workflow.policy.clear_cache()
    refused = client.get(path)
    assert refused.status_code == 403 and "担当する職員の方のみ" in refused.text
    anonymous = console.client(None).get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_navigation_lists_the_pages(console):
    html = console.client(STAFF).get("/").text
    nav = re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', html)
    assert nav[:5] == [("/", "相談一覧"), ("/feedback", "フィードバック"), ("/stats", "集計"),
                       ("/export", "エクスポート"), ("/documents", "資料")]


# ---- フィードバック --------------------------------------------------------------------------

def test_feedback_page(console, seeded):
    client = console.client(STAFF)
    html = client.get("/feedback").text
    assert "具体的な日付が知りたい" in html                         # the officer's comment
    assert "地域づくり総合交付金の申請期限はいつですか" in html     # the question
    assert "申請は各振興局が定める期限までに行います。" in html     # the answer's first lines
    assert "北海道総合戦略 › VI 市町村戦略支援 &gt; 1 財政的支援" in html   # its source
    assert f'href="/cases/{seeded.ids["k3"]}"' in html
    assert "職員が回答しました" in html
    assert client.get("/feedback?pending=1").text.count("/cases/") == 0   # k3 was followed up


# ---- 集計 -----------------------------------------------------------------------------------

def test_dashboard_shows_the_numbers_of_consult_cases_stats(console, seeded, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(console.settings.data_dir))
    cli = CliRunner().invoke(cli_app, ["cases", "stats", "--json", "--since", "2026-11-01",
                                       "--until", "2026-11-30"])
    assert cli.exit_code == 0, cli.output
    st = json.loads(cli.stdout)
    page = console.client(STAFF).get("/stats?since=2026-11-01&until=2026-11-30")
    assert page.status_code == 200
    html = page.text
    assert "consult cases stats --since 2026-11-01 --until 2026-11-30" in html
    kpis = dict(re.findall(r"<dt>([^<]+)</dt><dd>([\d,]+) ", html))
    assert kpis["相談件数"] == str(st["total"])
    assert kpis["ボットが回答"] == str(st["outcomes"]["bot"])
    assert kpis["ボットが回答できず"] == str(st["outcomes"]["declined"])
    assert kpis["職員対応が必要"] == str(st["outcomes"]["staff"])
    assert f"👍 {st['feedback_up']} / 👎 {st['feedback_down']}" in html
    weekly, programmes, regions, municipalities = Tables(html).tables
    by_week = {row[0]: row for row in weekly[1:]}
    assert list(by_week) == [w["week_start"] for w in st["weeks"]]
    for w in st["weeks"]:
        row = by_week[w["week_start"]]
        assert [int(x) for x in row[1:7]] == [w["cases"], w["bot"], w["declined"], w["staff"],
                                            w["feedback_up"], w["feedback_down"]]
    assert {r[0]: int(r[1]) for r in programmes[1:]} == st["by_programme"]
    assert {("" if r[0] == "未設定" else r[0]): int(r[1]) for r in municipalities[1:]} == \
        st["by_municipality"]
    assert {r[0]: int(r[1]) for r in regions[1:]} == \
        {name: v["total"] for name, v in st["by_subprefecture"].items()}
    # charts drawn on the server, readable without colour: patterns, a legend, titles
    assert html.count('<svg class="chart" role="img"') == 6
    assert 'id="p-hatch"' in html and "ボットが回答できず" in html and "<title" in html
    assert "<script" not in html


def test_dashboard_periods(console, seeded):
    client = console.client(STAFF)
    for preset in ("4w", "12w", "26w", "fy", "lastfy", "all"):
        assert client.get(f"/stats?period={preset}").status_code == 200
    everything = client.get("/stats?period=all").text
    assert "全期間" in everything and "consult cases stats</code>" in everything
    bad = client.get("/stats?since=2026-13-01&period=zzz").text
    assert "開始日「2026-13-01」を日付として読み取れませんでした" in bad
    empty = client.get("/stats?since=2030-01-01&until=2030-01-31").text
    assert "この期間に始まった相談はありません" in empty


# ---- エクスポート ------------------------------------------------------------------------------

def test_export_page_describes_the_filter(console, seeded):
    html = console.client(STAFF).get("/export?tab=all&municipality=函館市&q=交付金").text
    assert "状態: すべて" in html and "市町村: 函館市" in html and "キーワード: 交付金" in html
    assert "<strong>1 件</strong>" in html
    assert '<input type="hidden" name="municipality" value="函館市">' in html


def test_export_downloads_csv_and_xlsx_of_the_filter(console, seeded):
    client = console.client(STAFF)
    csv_resp = client.get("/export/download", params={"tab": "all", "municipality": "函館市",
                                                      "format": "csv", "per": "turn"})
    assert csv_resp.status_code == 200
    assert csv_resp.headers["content-type"].startswith("text/csv")
    assert "attachment;" in csv_resp.headers["content-disposition"]
    assert "filename*=UTF-8''%E7%9B%B8%E8%AB%87%E8%A8%98%E9%8C%B2_" in csv_resp.headers["content-disposition"]
    raw = csv_resp.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][0] == "相談番号" and [r[0] for r in rows[1:]] == [ref(seeded, "k3"), ref(seeded, "k4")]
    xlsx = client.get("/export/download", params={"tab": "all", "format": "xlsx", "per": "case",
                                                  "thumbs_down": "1"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in ws[1]][:3] == ["相談番号", "状態", "依頼者ID"]
    assert [r[0].value for r in ws.iter_rows(min_row=2)] == [ref(seeded, "k3")]
    bad = client.get("/export/download?format=pdf")
    assert bad.status_code == 400 and "CSV か Excel" in bad.text


def test_export_download_neutralises_formula_cells(console, seeded):
    from tests.cases.report_data import answer, ask

    question = '=HYPERLINK("http://evil.invalid","押して") と @SUM(A1) の扱い'
    ask(seeded.store, "formula-web", question, answer("-1+1 のような回答も文字です。", None))
    client = console.client(STAFF)
    raw = client.get("/export/download", params={"tab": "all", "format": "csv",
                                                 "per": "turn"}).content
    cells = [c for r in csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")) for c in r]
    assert "'" + question in cells and question not in cells
    assert "'-1+1 のような回答も文字です。" in cells
    xlsx = client.get("/export/download", params={"tab": "all", "format": "xlsx", "per": "turn"})
    values = [c.value for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows()
              for c in row]
    assert "'" + question in values and question not in values


# ---- 資料 ------------------------------------------------------------------------------------

def test_documents_page_before_and_after_ingest(console, bundled_index_dir):
    client = console.client(STAFF)
    html = client.get("/documents").text
    assert "資料はまだ取り込まれていません" in html and "取り込みの記録はまだありません" in html
    shutil.copytree(bundled_index_dir, console.settings.data_dir, dirs_exist_ok=True)
    state.save_last_run(console.settings.data_dir, {
        **(state.read_last_run(console.settings.data_dir) or {}),
        "failed": [{"path": "rules/scan.pdf", "error": "PDF を読み込めませんでした"}]})
    html = client.get("/documents").text
    for expected in ("multilingual-e5-small", "北海道総合戦略", "よくある質問", "faq/faq.csv",
                     "読み込めなかったファイル", "rules/scan.pdf", "PDF を読み込めませんでした",
                     "失敗 1 件"):
        assert expected in html, expected
    docs = Tables(html).tables[-1]
    assert docs[0] == ["タイトル", "種別", "チャンク数", "取り込み日時", "ファイル"]
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d$", row[3]) for row in docs[1:])
