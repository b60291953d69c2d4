"""BASELINE ONLY (bench/pii.py): the regex masker the product used before bot/pii — kept verbatim
to measure against in the same process; nothing in the product imports it.

Personal-data guard: find マイナンバー, phone numbers and e-mail addresses in a question and mask
them before the text goes anywhere (LLM, logs, case store).

`mask_pii(text) -> (masked_text, kinds)`; `kinds` lists each kind found once, in a stable order.
"""

from __future__ import annotations

import re

PII_NOTICE = (
    "ご質問に個人情報（マイナンバー、電話番号、メールアドレスなど）と思われる内容が含まれていたため、"
    "該当部分を伏せ字にして処理しました。個人情報はこちらに投稿しないようお願いいたします。"
)

MASKS = {
    "my_number": "［マイナンバー］",
    "phone": "［電話番号］",
    "email": "［メールアドレス］",
}
_ORDER = ("my_number", "phone", "email")

_D = "[0-9０-９]"
_SEP = "[-‐‑–—−－ー ]"  # hyphen look-alikes (incl. long vowel mark often typed in numbers), space

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
# 12 digits, optionally grouped 4-4-4; not part of a longer digit run.
_MY_NUMBER = re.compile(rf"(?<![0-9０-９])({_D}{{4}}){_SEP}?({_D}{{4}}){_SEP}?({_D}{{4}})(?![0-9０-９])")
# Japanese phone numbers: 0X-XXXX-XXXX style (10 or 11 digits, with or without separators or
# parentheses), and +81 international form.
_PHONE = re.compile(
    rf"(?<![0-9０-９])(?:"
    rf"(?:\+|＋)81{_SEP}?[(（]?{_D}{{1,4}}[)）]?{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{3,4}}"
    rf"|[(（]?[0０]{_D}{{1,4}}[)）]?{_SEP}?{_D}{{1,4}}{_SEP}{_D}{{3,4}}"
    rf"|[(（][0０]{_D}{{1,4}}[)）]{_D}{{1,4}}{_SEP}?{_D}{{3,4}}"
    rf"|[0０]{_D}{{1,4}}[(（]{_D}{{1,4}}[)）]{_D}{{3,4}}"
    rf"|[0０]{_D}{{9,10}}"
    rf")(?![0-9０-９])"
)

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def my_number_check_digit(first11: str) -> int:
    """Check digit of an individual number (番号法施行令第8条)."""
    digits = [int(c) for c in first11]
    if len(digits) != 11:
        raise ValueError("11 digits expected")
    total = 0
    for n in range(1, 12):
        p = digits[11 - n]          # n-th digit counting from the right
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate.translate(_FULLWIDTH))
    if len(digits) != 12:
        return False
    return my_number_check_digit(digits[:11]) == int(digits[11])


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text.translate(_FULLWIDTH))


def mask_pii(text: str) -> tuple[str, list[str]]:
    """Return the text with personal data replaced by ［…］ markers, and the kinds found."""
    found: set[str] = set()

    def _email(m: re.Match) -> str:
        found.add("email")
        return MASKS["email"]

    def _my_number(m: re.Match) -> str:
        if is_valid_my_number(m.group(0)):
            found.add("my_number")
            return MASKS["my_number"]
        return m.group(0)

    def _phone(m: re.Match) -> str:
        if _digit_count(m.group(0)) in (10, 11, 12, 13):  # +81 forms carry the country code
            found.add("phone")
            return MASKS["phone"]
        return m.group(0)

    masked = _EMAIL.sub(_email, text)
    masked = _MY_NUMBER.sub(_my_number, masked)
    masked = _PHONE.sub(_phone, masked)
    return masked, [k for k in _ORDER if k in found]
