"""Numbers and addresses written the way people write them: phones (``phonenumbers``, region
JP), マイナンバー (``python-stdnum``'s check digit, or a 12-digit number labelled as one), e-mail
addresses, postal codes. All detectors work on normalised text (``normalise.py``)."""

from __future__ import annotations

import re

import phonenumbers
from stdnum.jp import in_ as individual_number

from bot.pii.spans import EMAIL, MY_NUMBER, PHONE, Span

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*\s?(?:@|\(at\)|\[at\]|＠)\s?"
    r"[A-Za-z0-9\-]+(?:\s?\.\s?[A-Za-z0-9\-]+)*\s?\.\s?[A-Za-z]{2,}(?![A-Za-z0-9])")
_MY_NUMBER = re.compile(r"(?<![0-9])[0-9]{4}[\- ]?[0-9]{4}[\- ]?[0-9]{4}(?![0-9])")
_MY_NUMBER_LABEL = re.compile(r"(?:マイナンバー|個人番号|マイナ)[^0-9\n]{0,12}$")
# Phone-like candidates that the matcher may skip (e.g. glued to kanji, or numbers that are
# "possible" but not in the current numbering plan): validated by phonenumbers below.
_PHONE_CANDIDATE = re.compile(
    r"(?<![0-9])(?:\+81[\- ]?\(?0?[0-9]{1,4}\)?|\(?0[0-9]{1,4}\)?)[\- .]?[0-9]{1,4}[\- .]?[0-9]{3,4}"
    r"(?![0-9])")
_PHONE_LABEL = re.compile(r"(?:電話|TEL|Tel|tel|携帯|ケータイ|連絡先|FAX|Fax|fax|番号)[^\n]{0,8}$")
_DIGITS = re.compile(r"[0-9]")


def emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)]


def my_numbers(text: str) -> list[Span]:
    out = []
    for m in _MY_NUMBER.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        labelled = _MY_NUMBER_LABEL.search(text[max(0, m.start() - 16):m.start()])
        if individual_number.is_valid(digits) or labelled:
            out.append(Span(m.start(), m.end(), MY_NUMBER))
    return out


def _phone_ok(candidate: str, labelled: bool) -> bool:
    try:
        number = phonenumbers.parse(candidate, "JP")
    except phonenumbers.NumberParseException:
        return False
    if phonenumbers.is_valid_number(number):
        return True
    return labelled and phonenumbers.is_possible_number(number)


def phones(text: str) -> list[Span]:
    out = [Span(m.start, m.end, PHONE) for m in
           phonenumbers.PhoneNumberMatcher(text, "JP", leniency=phonenumbers.Leniency.VALID)]
    for m in _PHONE_CANDIDATE.finditer(text):
        span = Span(m.start(), m.end(), PHONE)
        if any(span.overlaps(o) for o in out):
            continue
        digits = len(_DIGITS.findall(m.group(0)))
        if not 10 <= digits <= 13:
            continue
        labelled = bool(_PHONE_LABEL.search(text[max(0, m.start() - 12):m.start()]))
        if _phone_ok(m.group(0), labelled):
            out.append(span)
    return out
