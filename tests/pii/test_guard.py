"""The PII guard (bot/pii): normalisation, each detector, offsets, placeholders, what is kept."""

from __future__ import annotations

import pytest
from stdnum.jp import in_

from bot.pii import PII_NOTICE, PLACEHOLDERS, PiiGuard
from bot.pii.normalise import normalise


def test_check_digit_comes_from_stdnum():
    assert in_.is_valid("123456789018") and not in_.is_valid("123456789012")


def test_normalise_maps_back_to_the_typed_text():
    n = normalise("電話〇九〇－一二三四－五六七八まで㈱テスト")
    assert n.text.startswith("電話090-1234-5678まで(株)")
    s, e = n.original(2, 15)
    assert "電話〇九〇－一二三四－五六七八まで㈱テスト"[s:e] == "〇九〇－一二三四－五六七八"
    assert normalise("統一した一般の方針").text == "統一した一般の方針"      # kanji words untouched


@pytest.mark.parametrize("text,leak", [
    ("マイナンバーは123456789018です", "9018"), ("番号 1234 5678 9018 を確認したい", "9018"),
    ("番号１２３４５６７８９０１８について", "９０１８"), ("1234-5678-9018", "9018"),
    ("マイナンバー 一二三四 五六七八 九〇一八", "九〇一八"),
    ("個人番号：1111 2222 3333（控え）", "3333"),                 # labelled, check digit wrong
])
def test_my_number(fast, text, leak):
    masked, kinds = fast.mask(text)
    assert kinds == ["my_number"] and PLACEHOLDERS["my_number"] in masked and leak not in masked


@pytest.mark.parametrize("text", ["123456789012 は何の番号ですか", "予算は120000000000円です"])
def test_unlabelled_twelve_digits_with_a_wrong_check_digit_are_kept(fast, text):
    assert fast.mask(text) == (text, [])


@pytest.mark.parametrize("text,leak", [
    ("担当は011-231-4111です", "4111"), ("携帯 090-1234-5678", "5678"), ("(011)231-4111", "4111"),
    ("0112314111に電話", "4111"), ("+81-11-231-4111", "4111"), ("090.1234.5678に", "5678"),
    ("〇九〇－一二三四－五六七八まで", "五六七八"), ("０９０ー１２３４ー５６７８", "５６７８"),
    ("080 1234 5678", "5678"), ("０１２０・１２３・４５６", "４５６"), ("TEL:0166-23-4567", "4567"),
])
def test_phones(fast, text, leak):
    masked, kinds = fast.mask(text)
    assert kinds == ["phone"] and "〔電話番号〕" in masked and leak not in masked


@pytest.mark.parametrize("text", ["taro.yamada@town.example.lg.jp", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ",
                                  "hanako(at)city.example.jp"])
def test_email(fast, text):
    masked, kinds = fast.mask(f"連絡は{text}へ")
    assert masked == "連絡は〔メール〕へ" and kinds == ["email"]


@pytest.mark.parametrize("text,expected", [
    ("〒060-8588 札幌市中央区北3条西6丁目です", "〔住所〕です"),
    ("住所は虻田郡倶知安町北1条東2丁目5番地です", "住所は〔住所〕です"),
    ("稚内市中央3丁目13-15 みどりハイツ201号室に", "〔住所〕に"),
    ("〒０６０－８５８８", "〔住所〕"),
])
def test_addresses(fast, text, expected):
    masked, kinds = fast.mask(text)
    assert masked.endswith(expected) and kinds == ["address"]


@pytest.mark.parametrize("text,expected", [
    ("昭和45年3月12日生", "〔生年月日〕生"), ("生年月日：平成二年十月五日", "生年月日：〔生年月日〕"),
    ("1985年6月1日生まれの職員", "〔生年月日〕生まれの職員"),
    ("S45.3.12生の方", "〔生年月日〕生の方"),
])
def test_birth_dates(fast, text, expected):
    assert fast.mask(text) == (expected, ["birth_date"])


@pytest.mark.parametrize("text", [
    "令和6年4月1日から", "交付金は3,000万円", "第2期総合戦略(2020-2024)", "札幌市の件です",
    "申請締切は令和7年4月30日です", "第2条第3号に基づき", "倶知安町と音更町",
])
def test_plain_facts_are_kept(fast, text):
    assert fast.mask(text) == (text, [])


@pytest.mark.parametrize("text,expected", [
    ("山田太郎様から問い合わせがありました", "〔氏名〕様から問い合わせがありました"),
    ("佐藤さんに確認します", "〔氏名〕さんに確認します"),
    ("鈴木氏の件で", "〔氏名〕氏の件で"),
    ("担当の高橋から連絡します", "担当の〔氏名〕から連絡します"),
])
def test_names(guard, text, expected):
    assert guard.mask(text) == (expected, ["name"])


@pytest.mark.parametrize("text", [
    "地域おこし協力隊の募集について", "振興局長に相談しました", "札幌市の担当課です",
    "北海道創生ジャーナルに掲載されました", "ほっかいどう応援団会議の会員です",
    "担当者様、皆様によろしくお伝えください", "協力隊さんの任期について",
])
def test_programmes_places_and_roles_are_not_names(guard, text):
    assert guard.mask(text) == (text, [])


def test_the_issue_message_is_fully_masked(guard):
    text = ("山田太郎様（昭和45年3月12日生、〒060-8588 札幌市中央区北3条西6丁目）の件です。"
            "電話は090.1234.5678か〇九〇－一二三四－五六七八、メールはｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ、"
            "マイナンバーは123456789018です。地域おこし協力隊の応募について教えてください。")
    masked, kinds = guard.mask(text)
    assert masked == ("〔氏名〕様（〔生年月日〕生、〔住所〕）の件です。電話は〔電話番号〕か〔電話番号〕、"
                      "メールは〔メール〕、マイナンバーは〔個人番号〕です。地域おこし協力隊の応募について"
                      "教えてください。")
    assert kinds == ["my_number", "phone", "email", "name", "address", "birth_date"]
    assert guard.mask(masked) == (masked, [])          # masking twice changes nothing


def test_fast_path_skips_names_and_notice_is_polite(fast):
    assert fast.mask("山田太郎様") == ("山田太郎様", [])
    assert PiiGuard(ner=False).ner is False and "個人情報" in PII_NOTICE


def test_log_records_are_masked_at_every_level(caplog):
    import logging

    from bot.pii.logs import install

    install(PiiGuard())
    log = logging.getLogger("bot.test.pii")
    with caplog.at_level(logging.DEBUG):
        log.debug("question %s", "山田太郎様 090.1234.5678")
        log.info('payload {"text": "\\u96fb\\u8a71 \\u3007\\u4e5d\\u3007-1234-5678"}')
        log.warning("form text=%E9%9B%BB%E8%A9%B1%20090-1234-5678")
        try:
            raise ValueError("マイナンバー 123456789018")
        except ValueError:
            log.exception("failed for ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ")
    text = caplog.text
    for leak in ("山田", "5678", "9018", "taro", "ｔａｒｏ"):
        assert leak not in text
    assert text.count("〔電話番号〕") == 3 and "〔氏名〕様" in text and "〔個人番号〕" in text


def test_the_model_reads_windows_around_candidates_with_offsets_shifted_back(guard):
    from bot.pii import names

    text = ("担当の高橋から連絡します。" + "地域おこし協力隊の募集要項と地域づくり総合交付金の申請書類、"
            "振興局への提出期限について確認中です。" * 2 + "佐藤さんにも確認します。")
    doc = names.load_model().tokenizer(text)
    windows = names._candidate_windows(doc)
    assert len(windows) == 2 and windows[0][0] == 0 and windows[1][0] > windows[0][1]
    assert sum(e - s for s, e in windows) < len(doc) // 2           # most tokens never reach it
    expected = ("担当の〔氏名〕から連絡します。" + text[13:-12] + "〔氏名〕さんにも確認します。", ["name"])
    assert guard.mask(text) == expected
    assert PiiGuard(ner_whole_message=True).mask(text) == expected
