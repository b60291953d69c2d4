"""Typed municipality names are normalised to the directory's names, or refused politely with
candidates."""

from __future__ import annotations

import pytest

from bot.directory import MunicipalityDirectory, UnknownMunicipality
from bot.errors import InvalidInput
from bot.placenames import fold

D = MunicipalityDirectory.bundled()


@pytest.mark.parametrize("typed,expected", [
    ("稚内市", "稚内市"),
    ("北海道稚内市", "稚内市"),
    ("　稚内市 ", "稚内市"),
    ("稚内", "稚内市"),
    ("稚内市役所", "稚内市"),
    ("わっかない", "稚内市"),
    ("わっかないし", "稚内市"),
    ("ワッカナイ", "稚内市"),
    ("ﾜｯｶﾅｲｼ", "稚内市"),
    ("012149", "稚内市"),
    ("０１２１４９", "稚内市"),          # full-width digits (NFKC)
    ("01214", "稚内市"),                # without the check digit
    ("北海道虻田郡倶知安町", "倶知安町"),
    ("虻田郡倶知安町", "倶知安町"),
    ("倶知安", "倶知安町"),
    ("くっちゃん", "倶知安町"),
    ("桧山郡江差町", "江差町"),          # 桧 / 檜
    ("函舘市", "函館市"),                # 舘 / 館
    ("剣渕町", "剣淵町"),                # 渕 / 淵
    ("涌別町", "湧別町"),
    ("北廣島市", "北広島市"),            # 旧字体
    ("雨龍町", "雨竜町"),
    ("上の国町", "上ノ国町"),            # ノ / の
    ("にせこちょう", "ニセコ町"),
    ("森町", "森町"),
    ("もりまち", "森町"),
    ("札幌市中央区", "札幌市"),          # a ward of Sapporo
    ("北海道札幌市北区", "札幌市"),
    ("ほっかいどうわっかないし", "稚内市"),
    ("上川郡清水町", "清水町"),
    ("おといねっぷ", "音威子府村"),
])
def test_resolves(typed, expected):
    assert D.resolve(typed).name == expected


@pytest.mark.parametrize("typed,candidates", [
    ("くしろ", ("釧路市", "釧路町")),
    ("釧路", ("釧路市", "釧路町")),
    ("えさし", ("江差町", "枝幸町")),     # both read えさしちょう
    ("しべつ", ("士別市", "標津町")),
])
def test_ambiguous_names_list_every_candidate(typed, candidates):
    with pytest.raises(UnknownMunicipality) as err:
        D.resolve(typed)
    assert err.value.candidates == candidates
    assert "複数あります" in err.value.user_message
    for name in candidates:
        assert name in err.value.user_message


def test_unknown_names_are_refused_politely_with_suggestions():
    with pytest.raises(UnknownMunicipality) as err:
        D.resolve("わっかなし")
    assert "稚内市" in err.value.candidates
    assert err.value.user_message.startswith("「わっかなし」は北海道の市町村として見つかりませんでした。")
    assert "もしかして「稚内市」" in err.value.user_message
    assert isinstance(err.value, InvalidInput)           # every surface shows user_message

    with pytest.raises(UnknownMunicipality) as err:
        D.resolve("富良野町")                             # the city is 富良野市
    assert set(err.value.candidates) >= {"富良野市", "上富良野町", "中富良野町", "南富良野町"}

    with pytest.raises(UnknownMunicipality) as err:
        D.resolve("東京都千代田区")
    assert err.value.candidates == ()
    assert "例: 稚内市" in err.value.user_message


def test_codes_with_a_wrong_check_digit_or_no_municipality():
    with pytest.raises(UnknownMunicipality) as err:
        D.resolve("012148")
    assert "検査数字" in err.value.user_message and "012149" in err.value.user_message
    assert err.value.candidates == ("稚内市",)
    with pytest.raises(UnknownMunicipality) as err:
        D.resolve("131016")                              # 千代田区: valid, not in Hokkaido
    assert "見つかりませんでした" in err.value.user_message


def test_a_subprefecture_is_not_a_municipality():
    with pytest.raises(UnknownMunicipality) as err:
        D.resolve("宗谷総合振興局")
    assert "宗谷総合振興局の名前です" in err.value.user_message
    assert "10 市町村" in err.value.user_message


def test_empty_and_too_long():
    with pytest.raises(UnknownMunicipality):
        D.resolve("  ")
    with pytest.raises(UnknownMunicipality):
        D.resolve("稚" * 200)
    assert D.canonical("") is None and D.canonical(None) is None
    assert D.canonical("わっかない") == "稚内市"


@pytest.mark.parametrize("typed,name", [
    ("宗谷", "宗谷総合振興局"), ("宗谷総合振興局", "宗谷総合振興局"), ("宗谷振興局", "宗谷総合振興局"),
    ("宗谷支庁", "宗谷総合振興局"), ("桧山", "檜山振興局"), ("檜山振興局", "檜山振興局"),
    ("オホーツク", "オホーツク総合振興局"), ("ｵﾎｰﾂｸ", "オホーツク総合振興局"),
    ("北海道十勝総合振興局", "十勝総合振興局"), ("膽振", "胆振総合振興局"),
])
def test_subprefecture_names(typed, name):
    assert D.subprefecture(typed).name == name


def test_unknown_subprefecture():
    assert D.subprefecture("東京") is None and D.subprefecture("") is None
    assert D.subprefecture_of("稚内市").short == "宗谷"
    assert D.subprefecture_of("未設定の町") is None


def test_fold():
    assert fold("ﾆｾｺ町") == "にせこ町"
    assert fold("桧山 郡") == "檜山郡"
    assert fold("ケ") == fold("ヶ") == "け"
