"""Rules for what the statistical model is not needed for: postal codes and street addresses
(a place name followed by 条・丁目・番地・番・号 or 1-2-3), and birth dates (和暦 / 西暦 dates
that a birth word such as 生・生まれ・生年月日 marks). A municipality name alone is never an
address; a date without a birth word (a deadline) is never a birth date."""

from __future__ import annotations

import re

from bot.pii.spans import ADDRESS, BIRTH_DATE, Span

_K = "一-龥々〆ヶ"          # kanji
_PLACE_CHARS = f"[{_K}ァ-ヺー]"
_POSTAL = re.compile(r"(?:〒|郵便番号\s?[:は]?)\s?[0-9]{3}\s?-?\s?[0-9]{4}(?![0-9])")
# The street part: 北3条西6丁目, 6丁目2番地, 123番地4, 1番2号, 字山田123番地, 北1西2 ,1-2-3
_STREET = re.compile(
    rf"(?:字{_PLACE_CHARS}{{1,6}})?"
    r"(?:(?:[東西南北]?[0-9]{1,3}条通?(?:[東西南北][0-9]{1,3}(?:丁目)?)?|[0-9]{1,3}丁目|[0-9]{1,5}番地?"
    r"|[0-9]{1,4}号|[東西南北][0-9]{1,2}(?=[東西南北][0-9]))(?:[-の](?=[0-9]))?)+"
    r"(?:[0-9]{1,5}(?:番地?|号)?)?(?:[-の][0-9]{1,5}){0,2}")
_HYPHENATED = re.compile(r"[0-9]{1,4}-[0-9]{1,4}(?:-[0-9]{1,4})?(?![0-9])")
_ADMIN = re.compile(rf"{_PLACE_CHARS}*?(?:市|町|村|区|郡){_PLACE_CHARS}*$")
_BUILDING = re.compile(rf"\s?[{_K}ぁ-んァ-ヺーA-Za-z]{{1,14}}(?:ビル|マンション|ハイツ|"
                       rf"アパート|荘|コーポ|レジデンス)\s?[0-9]{{0,4}}(?:号室|階)?")


def _place_before(text: str, end: int, limit: int = 24) -> int:
    """Start of the run of place characters (kanji, katakana; 北海道/市区町村 included) that ends
    at ``end``."""
    i = end
    while i > 0 and end - i < limit and re.match(_PLACE_CHARS, text[i - 1]):
        i -= 1
    return i


def addresses(text: str) -> list[Span]:
    out: list[Span] = []
    for m in _POSTAL.finditer(text):
        end = m.end()
        # the address that follows the postal code belongs to it
        rest = re.match(rf"\s?(?:{_PLACE_CHARS}+)", text[end:])
        if rest:
            street = _STREET.match(text, end + rest.end())
            hy = _HYPHENATED.match(text, end + rest.end())
            end = max(end + rest.end(), street.end() if street and street.group(0) else 0,
                      hy.end() if hy else 0)
        out.append(Span(m.start(), end, ADDRESS))
    for m in _STREET.finditer(text):
        if not re.search(r"[0-9]", m.group(0)) or not re.search(r"条|丁目|番|号|[東西南北][0-9]",
                                                                  m.group(0)):
            continue
        start = _place_before(text, m.start())
        head = text[start:m.start()]
        strong = "条" in m.group(0) and "丁目" in m.group(0)      # 北1条西2丁目 (Sapporo)
        if not strong and (not head or not re.search(r"[市町村区郡]|^[東西南北]$|字",
                                                      head + m.group(0)[:1])):
            continue
        end = m.end()
        building = _BUILDING.match(text, end)
        if building:
            end = building.end()
        out.append(Span(start, end, ADDRESS))
    for m in _HYPHENATED.finditer(text):
        start = _place_before(text, m.start())
        head = text[start:m.start()]
        if head and _ADMIN.search(head) and not re.search(r"第|号$|年|月|日", head):
            # a town part after the municipality (倶知安町北1-2-3): not the name alone
            admin_end = max(head.rfind(c) for c in "市町村区郡") + 1
            if admin_end < len(head) or m.group(0).count("-") >= 2:
                out.append(Span(start, m.end(), ADDRESS))
    return out


_ERA = r"(?:明治|大正|昭和|平成|令和|[MTSHR]\.?\s?)"
_NUM = r"(?:[0-9]{1,2}|元|[〇一二三四五六七八九十]{1,3})"
_DATE = re.compile(
    rf"(?:{_ERA}{_NUM}\s?年\s?{_NUM}\s?月(?:\s?{_NUM}\s?日)?"
    rf"|{_ERA}[0-9]{{1,2}}[./][0-9]{{1,2}}[./][0-9]{{1,2}}"
    rf"|(?:西暦\s?)?(?:19|20)[0-9]{{2}}\s?年\s?[0-9]{{1,2}}\s?月(?:\s?[0-9]{{1,2}}\s?日)?"
    rf"|(?:19|20)[0-9]{{2}}[/.\-][0-9]{{1,2}}[/.\-][0-9]{{1,2}})")
_BIRTH_AFTER = re.compile(r"\s?[(（]?(?:生まれ|生れ|うまれ|生|誕生|出生)")
_BIRTH_BEFORE = re.compile(r"(?:生年月日|誕生日|生まれ|出生日|生)\s?(?:は|が|:|：|＝|=)?\s?[(（]?$")


def birth_dates(text: str) -> list[Span]:
    out = []
    for m in _DATE.finditer(text):
        after = _BIRTH_AFTER.match(text, m.end())
        before = _BIRTH_BEFORE.search(text[max(0, m.start() - 10):m.start()])
        if after or before:
            out.append(Span(m.start(), m.end(), BIRTH_DATE))
    return out
