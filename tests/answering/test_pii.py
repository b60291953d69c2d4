"""Personal-data guard."""

from __future__ import annotations

import pytest

from bot.answering.pii import MASKS, PII_NOTICE, is_valid_my_number, mask_pii, my_number_check_digit


def test_check_digit_algorithm():
    # 12345678901 -> check digit 8 (computed by the 番号法施行令 formula)
    assert my_number_check_digit("12345678901") == 8
    assert is_valid_my_number("123456789018")
    assert not is_valid_my_number("123456789012")


@pytest.mark.parametrize("text", [
    "マイナンバーは123456789018です",
    "番号 1234 5678 9018 を確認したい",
    "番号１２３４５６７８９０１８について",
    "1234-5678-9018",
])
def test_valid_my_number_is_masked(text):
    masked, kinds = mask_pii(text)
    assert kinds == ["my_number"]
    assert MASKS["my_number"] in masked
    assert "9018" not in masked and "９０１８" not in masked


@pytest.mark.parametrize("text", ["123456789012 は何の番号ですか", "予算は120000000000円です"])
def test_twelve_digits_with_invalid_check_digit_are_left_alone(text):
    assert mask_pii(text) == (text, [])


@pytest.mark.parametrize("text", ["担当は011-231-4111です", "携帯 090-1234-5678", "(011)231-4111",
                                  "0112314111に電話", "+81-11-231-4111"])
def test_phone_numbers_are_masked(text):
    masked, kinds = mask_pii(text)
    assert kinds == ["phone"] and MASKS["phone"] in masked
    assert "4111" not in masked and "5678" not in masked


def test_email_and_combination_and_non_pii():
    masked, kinds = mask_pii("連絡先 taro.yamada@town.example.lg.jp と 090-1111-2222、番号123456789018")
    assert kinds == ["my_number", "phone", "email"]
    assert "taro" not in masked and "2222" not in masked and "9018" not in masked
    for text in ["令和6年4月1日から", "交付金は3,000万円", "第2期総合戦略(2020-2024)"]:
        assert mask_pii(text) == (text, [])
    assert "個人情報" in PII_NOTICE
