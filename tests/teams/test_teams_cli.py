"""`consult cases transfer` and `consult cases teams` on the real store (the same workflow rule
as Slack and the console; recorded under the local operator)."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cases.store import CaseStore
from bot.cli import app
from tests.teams.conftest import SOYA_STAFF, TOKACHI_STAFF, add_case


def run(monkeypatch, tmp_path, teams_file, operator: str, *args: str):
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_TEAMS_FILE", str(teams_file))
    monkeypatch.setenv("CONSULT_LOCAL_OPERATOR", operator)
    return CliRunner().invoke(app, list(args))


def test_transfer_and_teams(monkeypatch, tmp_path, teams_file, make_settings):
    settings = make_settings(CONSULT_TEAMS_FILE=str(teams_file))
    store = CaseStore.from_settings(settings)
    from bot.services import build_workflow

    build_workflow(settings, store)                   # the router on this store
    case = add_case(store, "稚内市", answered=False)
    assert case.team == "soya"
    store.close()

    refused = run(monkeypatch, tmp_path, teams_file, TOKACHI_STAFF, "cases", "transfer", case.ref,
                  "tokachi")
    assert refused.exit_code == 1
    assert "「宗谷総合振興局 地域創生課」の担当のため、操作できません" in refused.output
    done = run(monkeypatch, tmp_path, teams_file, SOYA_STAFF, "cases", "transfer", case.ref,
               "十勝総合振興局 地域創生課", "--note", "十勝の案件")
    assert done.exit_code == 0, done.output
    assert "「十勝総合振興局 地域創生課」に移しました" in done.output
    listing = run(monkeypatch, tmp_path, teams_file, "cli:op", "cases", "teams")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    tokachi = lines.index(next(l for l in lines if l.startswith("tokachi\t")))
    assert "職員対応待ち 1 件" in lines[tokachi + 1] and "十勝総合振興局" in lines[tokachi + 1]
    assert any(l.startswith("honcho\t本庁 地域政策課［管理者・既定］") for l in lines)
    store = CaseStore.from_settings(settings)
    assert store.get_case(case.id).team == "tokachi"
    assert store.case_detail(case.id).events[-1].actor == SOYA_STAFF
    store.close()


def test_teams_without_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_STAFF_CHANNEL", "C0STAFF")
    out = CliRunner().invoke(app, ["cases", "teams"])
    assert out.exit_code == 0 and "チームは 1 つです" in out.output
    assert "default\t相談対応チーム［管理者・既定］" in out.output


def test_stats_by_subprefecture(monkeypatch, tmp_path, make_settings):
    import json

    settings = make_settings()
    store = CaseStore.from_settings(settings)
    for i, town in enumerate(["稚内市", "稚内市", "猿払村", "帯広市", None]):
        add_case(store, town, thread=str(i))
    store.close()
    monkeypatch.setenv("CONSULT_DATA_DIR", str(settings.data_dir))
    out = CliRunner().invoke(app, ["cases", "stats"])
    assert "振興局別: 宗谷総合振興局 3（稚内市 2、猿払村 1）、十勝総合振興局 1（帯広市 1）、未設定・その他 1（未設定 1）" in out.output
    data = json.loads(CliRunner().invoke(app, ["cases", "stats", "--json"]).output)
    assert data["by_subprefecture"]["宗谷総合振興局"] == {"total": 3, "municipalities": {"稚内市": 2, "猿払村": 1}}
