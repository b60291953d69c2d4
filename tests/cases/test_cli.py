"""`consult cases …` and `consult db …` on SQLite and PostgreSQL, through the real typer app."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.cases.export import CSV_HEADER, JSON_KEYS
from bot.cases.store import CaseStore
from bot.cli import app
from bot.consultation import ConsultationService

from .conftest import FaqAnswerer, inquiry

ACTOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def cli_env(db_settings, monkeypatch, tmp_path):
    """Environment so that the CLI's own settings point at the test database."""
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("CONSULT_DATA_DIR", str(db_settings.data_dir))
    monkeypatch.setenv("CONSULT_STAFF_USERS", "U_STAFF")   # the assignee of these tests
    if db_settings.database_url:
        monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    return db_settings


@pytest.fixture
def seeded(cli_env, faq_questions):
    """Three consultations: answered, declined (needs staff), and one with PII masked."""
    store = CaseStore.from_settings(cli_env)
    service = ConsultationService(settings=cli_env, answerer=FaqAnswerer(), store=store)
    refs = [
        service.consult(inquiry(faq_questions[4], thread="1.1", user="U1", name="札幌 花子",
                                key="e1")).case_ref,
        service.consult(inquiry("除雪の委託契約の単価を教えて", thread="2.2", user="U2",
                                name="旭川 太郎", key="e2")).case_ref,
        service.consult(inquiry(f"{faq_questions[10]} 電話は 011-231-4111", thread="3.3",
                                user="U1", key="e3")).case_ref,
    ]
    store.set_municipality(refs[0], "札幌市", actor="U_STAFF")
    store.set_municipality(refs[1], "旭川市", actor="U_STAFF")
    store.close()
    return refs


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_list_text_and_json(seeded):
    result = run("cases", "list")
    assert result.exit_code == 0, result.output
    for ref in seeded:
        assert ref in result.stdout
    assert "職員対応待ち" in result.stdout and "（3 件）" in result.stdout

    result = run("cases", "list", "--json")
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["ref"] for o in objs] == list(reversed(seeded))   # newest first
    for obj in objs:
        assert tuple(obj) == JSON_KEYS
        assert obj["turns"] and obj["events"] and obj["requester"]["user_id"]
    by_ref = {o["ref"]: o for o in objs}
    assert by_ref[seeded[0]]["municipality"] == "札幌市"
    assert by_ref[seeded[0]]["requester"]["display_name"] == "札幌 花子"
    assert "011-231-4111" not in result.stdout   # masked before it was stored


def test_list_filters(seeded):
    out = run("cases", "list", "--status", "needs_staff", "--json").stdout
    assert [json.loads(line)["ref"] for line in out.splitlines()] == [seeded[1]]
    out = run("cases", "list", "--municipality", "札幌市", "--json").stdout
    assert [json.loads(line)["ref"] for line in out.splitlines()] == [seeded[0]]
    assert run("cases", "list", "--since", "2999-01-01").stdout.strip() == "該当する相談はありません。"
    assert len(run("cases", "list", "--since", "2000-01-01", "--json").stdout.splitlines()) == 3
    bad = run("cases", "list", "--status", "done")
    assert bad.exit_code == 2 and "状態「done」は不明です" in bad.output
    bad = run("cases", "list", "--since", "昨日")
    assert bad.exit_code == 2 and "日付「昨日」を読み取れません" in bad.output


def test_show(seeded):
    result = run("cases", "show", seeded[0], "--json")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert tuple(obj) == JSON_KEYS and obj["ref"] == seeded[0]
    turn = obj["turns"][0]
    assert turn["sources"][0]["source"] == "faq/faq.csv" and turn["answer"].endswith("[1]")
    assert [e["kind"] for e in obj["events"]] == ["opened", "municipality"]

    text = run("cases", "show", seeded[0].removeprefix("相談#")).stdout
    assert seeded[0] in text and "質問 1" in text and "よくある質問" in text

    missing = run("cases", "show", "相談#9999")
    assert missing.exit_code == 1 and "相談#9999 は見つかりませんでした。" in missing.stderr


def test_staff_actions_are_events_with_the_cli_actor(seeded, cli_env):
    ref = seeded[1]
    refused = run("cases", "assign", ref, "W_OFFICER")
    assert refused.exit_code != 0 and "「W_OFFICER」さんは職員として登録されていないため" in refused.stderr
    result = run("cases", "assign", ref, "U_STAFF")
    assert result.exit_code == 0 and "U_STAFF" in result.stdout and "対応中" in result.stdout
    assert run("cases", "note", ref, "財政課に確認します").exit_code == 0
    assert run("cases", "note", ref, "  ").exit_code == 2
    assert run("cases", "municipality", ref, "名寄市").exit_code == 0
    result = run("cases", "resolve", ref, "--note", "電話で回答済み")
    assert result.exit_code == 0 and "解決済み" in result.stdout
    obj = json.loads(run("cases", "show", ref, "--json").stdout)
    assert obj["status"] == "resolved" and obj["assignee"] == "U_STAFF"
    assert obj["municipality"] == "名寄市"
    cli_events = [(e["kind"], e["text"]) for e in obj["events"] if e["actor"] == ACTOR]
    assert cli_events == [("assigned", "U_STAFF"), ("note", "財政課に確認します"),
                          ("municipality", "名寄市"), ("resolved", "電話で回答済み")]
    text = run("cases", "show", ref).stdout
    assert "メモ（内部）" in text and "財政課に確認します" in text


def test_export_csv_opens_with_japanese_intact(seeded, tmp_path):
    result = run("cases", "export", "--format", "csv")
    assert result.exit_code == 0, result.output
    raw = result.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")   # UTF-8 BOM for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == CSV_HEADER and rows[0][0] == "相談番号"
    assert len(rows) == 4 and all(len(r) == len(CSV_HEADER) for r in rows)
    col = {name: i for i, name in enumerate(CSV_HEADER)}
    first = rows[1]
    assert first[col["相談番号"]] == seeded[0] and first[col["市町村"]] == "札幌市"
    assert first[col["依頼者名"]] == "札幌 花子"
    assert "交付金" in first[col["質問"]] and first[col["回答"]].endswith("[1]")
    assert first[col["状態"]] == "回答済み" and first[col["ボット回答可否"]] == "はい"
    assert rows[2][col["状態"]] == "職員対応待ち"

    out = tmp_path / "out" / "cases.csv"
    result = run("cases", "export", "--output", str(out))
    assert result.exit_code == 0 and result.stdout_bytes == b""
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh)) == rows

    result = run("cases", "export", "--format", "jsonl", "--since", "2000-01-01")
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["ref"] for o in objs] == seeded
    assert set(JSON_KEYS) <= set(objs[0]) and objs[0]["programmes"]
    assert run("cases", "export", "--format", "pdf").exit_code == 2


def test_stats(seeded):
    run("cases", "assign", seeded[1], "U_STAFF")
    result = run("cases", "stats", "--json")
    assert result.exit_code == 0, result.output
    st = json.loads(result.stdout)
    assert st["total"] == 3 and st["turns"] == 3
    assert st["by_status"] == {"answered": 2, "needs_staff": 0, "in_progress": 1, "resolved": 0}
    assert st["by_municipality"] == {"札幌市": 1, "旭川市": 1, "": 1}
    assert st["bot_answered"] == 2 and st["staff_answered"] == 0
    assert st["median_time_to_take_s"] is not None
    text = run("cases", "stats").stdout
    assert "相談件数: 3 件" in text and "旭川市 1" in text and "未設定 1" in text


def test_db_upgrade_and_status(cli_env):
    status = run("db", "status")
    assert status.exit_code == 1 and "（未作成）" in status.stdout
    result = run("db", "upgrade")
    assert result.exit_code == 0 and "最新の状態" in result.stdout
    status = run("db", "status")
    from bot.cases.migrate import head_revision

    assert status.exit_code == 0 and f"現在のリビジョン: {head_revision()}" in status.stdout


def test_console_script_entry_point(cli_env, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["CONSULT_DATA_DIR"] = str(cli_env.data_dir)
    if cli_env.database_url:
        env["DATABASE_URL"] = cli_env.database_url
    proc = subprocess.run([sys.executable, "-m", "bot", "cases", "show", "相談#5"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "相談#5 は見つかりませんでした。" in proc.stderr
