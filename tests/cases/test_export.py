"""Export of a filtered set of cases: CSV (BOM, JST) and XLSX, per turn or per case, through the
one export module that the console and `consult cases export` share."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cases import export
from bot.cases.queue import QueueFilter
from bot.cases.store import CaseStore
from bot.cases.views import ESCALATION_LABELS
from bot.cli import app

from .report_data import Clock, answer, ask, seed


@pytest.fixture
def seeded(db_settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(db_settings.data_dir))
    if db_settings.database_url:
        monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    clock = Clock()
    store = CaseStore.from_settings(db_settings, clock=clock)
    data = seed(store, clock)
    yield data
    store.close()


def read_csv(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_filtered_export_per_turn_and_per_case(seeded):
    store, ids = seeded.store, seeded.ids
    f = QueueFilter(tab="all", municipality="函館市")
    details = list(store.iter_export(f))
    assert [d.case.id for d in details] == [ids["k3"], ids["k4"]]      # oldest first
    rows = read_csv(export.csv_bytes(details, "turn"))
    assert rows[0] == export.CSV_HEADER and len(rows) == 3
    col = {name: i for i, name in enumerate(export.CSV_HEADER)}
    assert rows[1][col["評価"]] == "👎" and rows[1][col["評価コメント"]] == "具体的な日付が知りたい"
    assert rows[1][col["相談開始日時"]] == "2026-11-02 09:20:00"        # JST
    per_case = read_csv(export.csv_bytes(details, "case"))
    assert per_case[0] == export.CASE_HEADER and len(per_case) == 3
    c = {name: i for i, name in enumerate(export.CASE_HEADER)}
    k3, k4 = per_case[1], per_case[2]
    assert (k3[c["質問数"]], k3[c["👎の数"]], k3[c["職員回答数"]]) == ("1", "1", "1")
    assert k3[c["対応が必要な理由"]] == ESCALATION_LABELS["negative_feedback"]
    assert k4[c["状態"]] == "解決済み" and k4[c["解決日時"]].startswith("2026-11-02 ")
    assert k4[c["対応が必要な理由"]] == ESCALATION_LABELS["requested"]   # kept after resolving
    assert k4[c["最初の質問"]].startswith("DX人材の派遣")


def test_xlsx_is_readable_and_cells_are_text(seeded, tmp_path):
    store = seeded.store
    ask(store, "f1", "=HYPERLINK(\"http://example.invalid\",\"押して\") の扱いは？",
        answer("@SUM(A1) のような文字列も文字として出力します。", None))
    details = list(store.iter_export(QueueFilter(tab="all")))
    data = export.xlsx_bytes(details, "turn")
    path = tmp_path / "out.xlsx"
    path.write_bytes(data)
    ws = load_workbook(path).active
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert ws.title == "相談記録" and rows[0] == export.CSV_HEADER
    assert len(rows) == 1 + 6
    col = {name: i for i, name in enumerate(export.CSV_HEADER)}
    last = rows[-1]
    assert last[col["質問"]].startswith("'=HYPERLINK(")       # neutralised (OWASP), still text
    assert last[col["回答"]].startswith("'@SUM(A1)")
    assert all(cell.data_type == "s" for cell in ws[ws.max_row] if cell.value)
    assert rows[1][col["市町村"]] == "旭川市"
    assert load_workbook(io.BytesIO(export.xlsx_bytes(details, "case"))).active.max_row == 7


def test_csv_streams_in_chunks_with_one_bom():
    from tests.cases.report_data import START

    from bot.cases.views import CaseDetail, CaseView

    case = CaseView(id=1, ref="相談#1", status="answered", conversation_key="k", kind="slack",
                    workspace=None, channel=None, thread_ts=None, requester_id="U1",
                    requester_name=None, municipality="旭川市", title="件名", assignee=None,
                    escalation_reason=None, programmes=(), staff_channel=None,
                    staff_message_ts=None, turn_count=0, feedback_up=0, feedback_down=0,
                    created_at=START, updated_at=START, escalated_at=None,
                    first_staff_response_at=None, resolved_at=None)
    details = [CaseDetail(case, (), ())] * 450
    chunks = list(export.csv_chunks(details, "case"))
    assert len(chunks) == 3 and chunks[0].startswith(b"\xef\xbb\xbf")
    rows = read_csv(b"".join(chunks))
    assert len(rows) == 451 and rows[-1][0] == "相談#1"
    assert read_csv(b"".join(export.csv_chunks([], "turn"))) == [export.CSV_HEADER]
    with pytest.raises(ValueError):
        list(export.table(details, "week"))


def test_cli_export_formats_and_filters(seeded, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cases.xlsx"
    result = runner.invoke(app, ["cases", "export", "--format", "xlsx", "--per", "case",
                                 "--status", "needs_staff", "-o", str(out)])
    assert result.exit_code == 0, result.output
    ws = load_workbook(out).active
    assert [r[0].value for r in ws.iter_rows(min_row=2)] == ["相談#2", "相談#5"]
    result = runner.invoke(app, ["cases", "export", "--search", "協力隊"])
    rows = read_csv(result.stdout_bytes)
    assert [r[0] for r in rows[1:]] == ["相談#1"]
    assert runner.invoke(app, ["cases", "export", "--format", "pdf"]).exit_code == 2
    assert runner.invoke(app, ["cases", "export", "--per", "week"]).exit_code == 2


# ---- formula neutralisation (OWASP CSV injection) ----------------------------------------------

@pytest.mark.parametrize("value,cell", [
    ("=HYPERLINK(\"http://x.invalid\",\"押して\")", "'=HYPERLINK(\"http://x.invalid\",\"押して\")"),
    ("@SUM(A1)", "'@SUM(A1)"), ("+81 3 1234", "'+81 3 1234"), ("-2+3", "'-2+3"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("=1", "'=1"),
    ("-3", "-3"), ("+1.5", "+1.5"), ("0.812", "0.812"),          # plain numbers stay numbers
    ("地域おこし協力隊 = 3人", "地域おこし協力隊 = 3人"), ("", ""), (None, ""), (42, "42"),
])
def test_cell_value_neutralises_formula_leads(value, cell):
    assert export.cell_value(value) == cell


FORMULAS = ('=HYPERLINK("http://evil.invalid","押して")の扱いは？', "@SUM(A1:A9) は集計できますか",
            "-1+1 の件", "+SUM(1) について")


def _ask_formulas(store):
    from .report_data import answer as _answer
    for n, q in enumerate(FORMULAS):
        ask(store, f"formula{n}", q, _answer("=1+1 と書かれていても文字です。", None))


def _assert_neutral(cells):
    texts = [c for c in cells if isinstance(c, str)]
    for q in FORMULAS:
        assert "'" + q in texts
        assert q not in texts
    assert "'=1+1 と書かれていても文字です。" in texts
    assert not any(t[:1] in "=+-@\t\r" and not export._PLAIN_NUMBER.fullmatch(t) for t in texts if t)


def test_cli_export_neutralises_formulas_in_csv_and_xlsx(seeded, tmp_path):
    _ask_formulas(seeded.store)
    runner = CliRunner()
    result = runner.invoke(app, ["cases", "export"])
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout_bytes)
    _assert_neutral([c for r in rows for c in r])
    for per in ("turn", "case"):
        out = tmp_path / f"cases-{per}.xlsx"
        result = runner.invoke(app, ["cases", "export", "--format", "xlsx", "--per", per,
                                     "-o", str(out)])
        assert result.exit_code == 0, result.output
        ws = load_workbook(out).active
        cells = [c for row in ws.iter_rows() for c in row]
        assert all(c.data_type == "s" for c in cells if c.value is not None)
        values = [c.value for c in cells]
        if per == "turn":
            _assert_neutral(values)
        else:
            assert "'" + FORMULAS[0] in values and FORMULAS[0] not in values
