"""`consult faq …` (public contract) through the real typer app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cases.store import CaseStore
from bot.cli import app
from bot.faq.views import JSON_KEYS

from .conftest import staff_case

OPERATOR = "cli:operator"


@pytest.fixture
def cli_env(db_settings, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(db_settings.data_dir))
    monkeypatch.setenv("CONSULT_LOCAL_OPERATOR", OPERATOR)
    if db_settings.database_url:
        monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    return db_settings


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


def test_the_whole_contract(cli_env):
    store = CaseStore.from_settings(cli_env)
    case, _ = staff_case(store)
    store.close()

    drafted = run("faq", "draft", case.ref)
    assert drafted.exit_code == 0, drafted.output
    assert "FAQ#1 の下書きを作成しました" in drafted.output
    assert "注意: 電話番号・内線番号" in drafted.output       # 内線2345 is still in the answer

    refused = run("faq", "approve", "1")
    assert refused.exit_code == 1
    assert refused.output.startswith("エラー: FAQ#1 を承認する前にご確認ください。")
    assert "--yes を付けて実行してください" in refused.output and "Traceback" not in refused.output

    approved = run("faq", "approve", "FAQ#1", "--yes")
    assert approved.exit_code == 0 and "FAQ#1 を承認しました" in approved.output

    added = run("faq", "add", "--question", "移住体験住宅の改修は補助対象？",
                "--answer", "地域づくり総合交付金の対象になります。", "--category", "地域づくり総合交付金",
                "--section", "存在しない見出し")
    assert added.exit_code == 0, added.output
    assert "FAQ#2 の下書きを作成しました" in added.output

    listed = run("faq", "list", "--json")
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["id"] for r in rows] == [2, 1]
    assert all(tuple(r) == JSON_KEYS for r in rows)
    one = next(r for r in rows if r["id"] == 1)
    assert one["status"] == "approved" and one["case_ref"] == case.ref
    assert one["approved_by"] == OPERATOR and one["approved_at"].endswith("+00:00")
    assert one["citations"] == 0 and one["section"].endswith("市町村のデジタル化の支援")
    drafts = run("faq", "list", "--status", "draft", "--json")
    assert [json.loads(line)["id"] for line in drafts.output.splitlines()] == [2]

    text = run("faq", "list")
    assert "FAQ#1\t承認済み\t" + case.ref in text.output and "（下書き 1、承認済み 1、却下 0、廃止 0）" in text.output

    shown = run("faq", "show", "1", "--json")
    obj = json.loads(shown.output)
    assert tuple(obj)[:len(JSON_KEYS)] == JSON_KEYS
    assert [e["kind"] for e in obj["events"]] == ["created", "approved"]
    assert obj["events"][0]["actor"] == OPERATOR

    retired = run("faq", "retire", "1", "--reason", "古い情報")
    assert retired.exit_code == 0 and "FAQ#1 を廃止しました" in retired.output
    human = run("faq", "show", "1")
    assert "廃止" in human.output and "古い情報" in human.output

    again = run("faq", "retire", "1")
    assert again.exit_code == 1 and again.output.strip() == "エラー: FAQ#1 はすでに廃止されています。"
    missing = run("faq", "show", "99")
    assert missing.exit_code == 1 and missing.output.strip() == "エラー: FAQ#99 は見つかりませんでした。"
    bad_ref = run("faq", "approve", "abc")
    assert bad_ref.exit_code == 1 and "FAQ 番号として認識できません" in bad_ref.output
    no_case = run("faq", "draft", "相談#404")
    assert no_case.exit_code == 1 and "相談#404 は見つかりませんでした。" in no_case.output
    bad_status = run("faq", "list", "--status", "old")
    assert bad_status.exit_code == 2 and "状態「old」は不明です" in bad_status.output

    with_approve = run("faq", "add", "--question", "Q", "--answer", "A", "--approve")
    assert with_approve.exit_code == 0 and "作成して承認しました" in with_approve.output
    sheet = run("faq", "export")
    assert sheet.exit_code == 0
    assert sheet.stdout_bytes.startswith(b"\xef\xbb\xbf")
    lines = sheet.stdout_bytes.decode("utf-8-sig").splitlines()
    assert lines[0] == "質問,回答,該当箇所,分類,出典" and len(lines) == 2 and lines[1].startswith("Q,A,,,職員回答")
