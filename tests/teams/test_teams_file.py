"""The teams file: parsed into teams, routed by municipality / programme / default, and refused
at start with polite Japanese errors naming the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.teams import DEFAULT_TEAM_ID, Teams
from bot.teams_file import load_teams, parse_teams
from tests.teams.conftest import FURUSATO, KOUFUKIN, TEAMS_YAML

REPO = Path(__file__).resolve().parents[2]


def test_parses_teams(teams_file):
    teams = load_teams(teams_file)
    assert [t.id for t in teams] == ["soya", "tokachi", "furusato", "honcho"]
    soya = teams.get("soya")
    assert soya.name == "宗谷総合振興局 地域創生課" and soya.channel == "C0SOYA"
    assert soya.users == {"U0SOYA"} and soya.subprefectures == ("宗谷総合振興局",)
    assert teams.get("tokachi").subprefectures == ("十勝総合振興局",)
    assert teams.get("furusato").programme_first and teams.get("furusato").programmes == ("ふるさと納税",)
    assert teams.default.id == "honcho" and teams.default.administrators
    assert not teams.single_team


def test_routing_by_municipality_programme_and_default(teams_file):
    teams = load_teams(teams_file)
    programme = FURUSATO.split("> ")[-1].removeprefix("(4) ")
    cases = {
        ("稚内市", ()): ("soya", "subprefecture"),
        ("猿払村", ("地域づくり総合交付金",)): ("soya", "subprefecture"),
        ("帯広市", ()): ("tokachi", "subprefecture"),
        ("稚内市", (programme,)): ("furusato", "programme"),      # programme first
        ("旭川市", ()): ("honcho", "default"),                     # 上川 has no team here
        (None, ()): ("honcho", "default"),
        ("東京都千代田区", ()): ("honcho", "default"),
    }
    for (municipality, programmes), (team, by) in cases.items():
        route = teams.route(municipality, programmes)
        assert (route.team.id, route.by) == (team, by), (municipality, programmes)
    assert teams.route("稚内市").why == "稚内市 → 宗谷総合振興局"
    assert teams.route("旭川市").why == "旭川市（上川総合振興局）を担当するチームがないため既定のチーム"
    assert "未設定" in teams.route(None).why
    assert KOUFUKIN  # (the section helpers are shared with the routing tests)


def test_programme_second_when_not_first(tmp_path):
    text = TEAMS_YAML.replace("    programme_first: true\n", "")
    teams = parse_teams(text)
    assert teams.route("稚内市", ["ふるさと納税の活用に向けた支援"]).team.id == "soya"
    assert teams.route("旭川市", ["ふるさと納税の活用に向けた支援"]).team.id == "furusato"
    assert teams.route(None, ["ふるさと納税の活用に向けた支援"]).team.id == "furusato"


def test_find_by_id_or_name(teams_file):
    teams = load_teams(teams_file)
    assert teams.find("soya").id == "soya"
    assert teams.find(" 十勝総合振興局　地域創生課 ").id == "tokachi"
    with pytest.raises(Exception) as err:
        teams.find("kushiro")
    assert "見つかりませんでした" in err.value.user_message and "宗谷総合振興局 地域創生課（soya）" in err.value.user_message


def test_the_example_file_is_valid():
    teams = load_teams(REPO / "docs" / "teams.example.yml")
    covered = {sp for t in teams for sp in t.subprefectures}
    assert len(covered) == 14                      # every (総合)振興局 has its team
    assert teams.route("稚内市").team.id == "soya"
    assert teams.route("根室市").team.id == "nemuro"
    assert teams.route("稚内市", ["ふるさと納税の活用に向けた支援"]).team.id == "shichoson"
    assert teams.default.administrators


def errors_of(text: str, settings=None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_teams(text, "teams.yml", settings)
    lines = err.value.user_message.splitlines()
    assert all(line.startswith("チーム設定ファイル teams.yml の ") for line in lines)
    assert str(err.value) == err.value.user_message     # the CLI prints it as is
    return lines


def test_every_problem_is_named_with_its_line_and_field():
    text = """\
teams:
  - id: soya
    name: 宗谷
    channel: C0SOYA
    subprefectures: [宗屋]
  - id: 十勝
    name: 十勝
    channel: general
    users: [taro]
    default: maybe
  - id: soya
    name: 重複
    channel: C0OTHER
    colour: red
"""
    lines = errors_of(text)
    assert any("5 行目（subprefectures）" in l and "「宗屋」" in l and "宗谷" in l for l in lines)
    assert any("6 行目（id）" in l and "半角英数字" in l for l in lines)
    assert any("8 行目（channel）" in l and "チャンネル ID ではありません" in l for l in lines)
    assert any("9 行目（users）" in l and "「taro」" in l for l in lines)
    assert any("10 行目（default）" in l and "true か false" in l for l in lines)
    assert any("14 行目（colour）" in l and "使えない項目" in l for l in lines)


def test_duplicates_and_defaults():
    dup = "teams:\n  - {id: a, name: A, channel: C0A, default: true}\n  - {id: a, name: B, channel: C0B}\n"
    assert any("3 行目（id）" in l and "2 行目" in l for l in errors_of(dup))
    two = ("teams:\n  - {id: a, name: A, channel: C0A, subprefectures: [宗谷], default: true}\n"
           "  - {id: b, name: B, channel: C0B, subprefectures: [宗谷総合振興局], default: true}\n")
    lines = errors_of(two)
    assert any("3 行目（subprefectures）" in l and "1 つのチームだけ" in l for l in lines)
    none = "teams:\n  - {id: a, name: A, channel: C0A}\n"
    assert any("既定のチームがありません" in l for l in errors_of(none))
    assert any("YAML として読み取れません" in l for l in errors_of("teams: [\n  - id: a"))
    assert any("1 行目（groups）" in l and "使えない項目" in l for l in errors_of("groups: []\n"))
    assert any("チームが 1 つも" in l for l in errors_of(""))


def test_without_a_default_team_the_settings_team_is_added(make_settings):
    settings = make_settings(CONSULT_STAFF_CHANNEL="C0STAFF", CONSULT_STAFF_USERS="U0LEAD")
    teams = parse_teams("teams:\n  - {id: soya, name: 宗谷, channel: C0SOYA, subprefectures: [宗谷]}\n",
                        "teams.yml", settings)
    assert teams.default.id == DEFAULT_TEAM_ID and teams.default.channel == "C0STAFF"
    assert teams.default.users == {"U0LEAD"} and not teams.default.administrators
    assert teams.route("帯広市").team.id == DEFAULT_TEAM_ID


def test_missing_or_unreadable_file(tmp_path, make_settings):
    with pytest.raises(ConfigError) as err:
        load_teams(tmp_path / "nope.yml")
    assert "見つかりません" in err.value.user_message and "CONSULT_TEAMS_FILE" in err.value.user_message
    sjis = tmp_path / "sjis.yml"
    sjis.write_bytes("teams:\n  - {id: a, name: 宗谷, channel: C0A, default: true}\n".encode("shift_jis"))
    with pytest.raises(ConfigError) as err:
        load_teams(sjis)
    assert "UTF-8" in err.value.user_message
    settings = make_settings(CONSULT_TEAMS_FILE=str(tmp_path / "nope.yml"))
    with pytest.raises(ConfigError):
        Teams.from_settings(settings)


def test_no_file_is_one_team_from_the_settings(make_settings):
    teams = Teams.from_settings(make_settings(CONSULT_STAFF_CHANNEL="C0STAFF",
                                              CONSULT_STAFF_USERS="U1,U2"))
    assert teams.single_team and len(teams) == 1
    team = teams.default
    assert (team.id, team.channel, team.users, team.administrators) == \
        ("default", "C0STAFF", frozenset({"U1", "U2"}), True)
    assert teams.route("稚内市").team is team


def test_the_cli_refuses_to_start_with_a_bad_file(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    bad = tmp_path / "teams.yml"
    bad.write_text("teams:\n  - id: soya\n    name: 宗谷\n    subprefectures: [宗屋]\n", encoding="utf-8")
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_TEAMS_FILE", str(bad))
    with pytest.raises(SystemExit) as exit_:
        main(["cases", "resolve", "1"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "チーム設定ファイル" in err and "4 行目（subprefectures）" in err and "「宗屋」" in err
    assert "3 行目（channel）" not in err and "2 行目（channel）" in err   # no channel, no users
