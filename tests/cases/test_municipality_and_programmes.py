"""The municipality mapping file and programme derivation (pure, no database)."""

from __future__ import annotations

import os

import pytest

from bot.cases.programmes import cited_passages, derive_programmes, programme_of
from bot.domain import Passage
from bot.errors import ConfigError
from bot.municipality import MunicipalityMap, parse_mapping


def test_parse_mapping_with_comments_bom_and_japanese_header(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("# 市町村対応表\nID,市町村\nU1,札幌市\n\nC9, 函館市 \n", encoding="utf-8-sig")
    m = MunicipalityMap(path)
    assert len(m) == 2
    assert m.lookup("U1") == "札幌市"
    assert m.lookup("U2", "C9") == "函館市"
    assert m.lookup("U1", "C9") == "札幌市"   # the user wins over the channel
    assert m.lookup("U2") is None and m.lookup(None) is None


def test_reloads_when_the_file_changes_and_keeps_the_last_good_version(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("slack_id,municipality\nU1,札幌市\n", encoding="utf-8")
    m = MunicipalityMap(path)
    path.write_text("slack_id,municipality\nU1,小樽市\n", encoding="utf-8")
    os.utime(path, (1, 1))
    assert m.lookup("U1") == "小樽市"
    path.write_text("slack_id,municipality\nU1,\n", encoding="utf-8")   # broken edit
    os.utime(path, (2, 2))
    assert m.lookup("U1") == "小樽市"


def test_bad_mapping_files_give_clear_errors(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_mapping("user,town\nU1,札幌市\n", "map.csv")
    assert "slack_id,municipality" in err.value.user_message
    with pytest.raises(ConfigError) as err:
        parse_mapping("slack_id,municipality\nU1,札幌市\nU2\n", "map.csv")
    assert "3 行目" in err.value.user_message
    with pytest.raises(ConfigError) as err:
        MunicipalityMap(tmp_path / "missing.csv")
    assert "見つかりません" in err.value.user_message
    sjis = tmp_path / "sjis.csv"
    sjis.write_bytes("slack_id,municipality\nU1,札幌市\n".encode("shift_jis"))
    with pytest.raises(ConfigError) as err:
        MunicipalityMap(sjis)
    assert "UTF-8" in err.value.user_message
    assert parse_mapping("") == {}


def test_from_settings(make_settings, tmp_path):
    assert len(MunicipalityMap.from_settings(make_settings())) == 0
    path = tmp_path / "m.csv"
    path.write_text("slack_id,municipality\nU5,釧路市\n", encoding="utf-8")
    m = MunicipalityMap.from_settings(make_settings(CONSULT_MUNICIPALITY_MAP=str(path)))
    assert m.lookup("U5") == "釧路市"


def _p(section: str, title: str = "北海道総合戦略") -> Passage:
    return Passage("c", "本文", "s.md", title, section, None, "strategy", 0.5)


@pytest.mark.parametrize("section,expected", [
    ("VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金", "地域づくり総合交付金"),
    ("VI 市町村戦略支援 > 3 人的支援 > (3) 地域おこし協力隊へのサポート", "地域おこし協力隊へのサポート"),
    ("V 地域戦略 > 〈地域戦略推進の考え方〉", "地域戦略推進の考え方"),
    ("VI 市町村戦略支援 > ■ 取組の構成", "取組の構成"),
    ("", "北海道総合戦略"),
])
def test_programme_of(section, expected):
    assert programme_of(_p(section)) == expected


def test_faq_row_counts_under_the_section_it_rests_on():
    faq = Passage("f", "Q: …\nA: …", "faq/faq.csv", "よくある質問", "人的支援", None, "faq", 0.5,
                  basis="VI 市町村戦略支援 > 3 人的支援 > (3) 地域おこし協力隊へのサポート")
    assert programme_of(faq) == "地域おこし協力隊へのサポート"
    no_basis = Passage("g", "Q: …\nA: …", "faq/faq.csv", "よくある質問", "人的支援", None, "faq", 0.5)
    assert programme_of(no_basis) == "人的支援"


def test_only_cited_sources_count():
    a, b = _p("1 財政的支援 > (1) 地域づくり総合交付金"), _p("3 人的支援 > (1) 職員派遣")
    assert cited_passages("答え [2]", [a, b]) == [b]
    assert cited_passages("答え [9]", [a, b]) == [a, b]   # no valid citation: all given sources
    assert derive_programmes("[1][2]", [a, b], ["ふるさと納税"]) == ["ふるさと納税", "地域づくり総合交付金", "職員派遣"]
