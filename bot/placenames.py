"""Typed municipality names -> the directory's canonical names (``MunicipalityDirectory.resolve``).

Staff and mapping files write names the way people do: ``北海道虻田郡倶知安町``, ``倶知安``,
``くっちゃん``, ``ｸｯﾁｬﾝﾁｮｳ``, ``桧山郡江差町``, ``函舘市``, ``稚内市役所``, ``012149`` or ``01214``.
``fold`` makes the comparison key (NFKC, no spaces, old character forms -> the directory's,
katakana -> hiragana); ``NameIndex.resolve`` tries, in order: a code, the exact name, the name
without 北海道 / 郡 / 役所・役場 / a Sapporo ward, the name without its 市町村 suffix, the reading
with or without the suffix. Nothing found, or several: ``UnknownMunicipality`` whose polite
message names the candidates (closest names and readings, names containing the text).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import TYPE_CHECKING

from bot.directory import UnknownMunicipality, check_digit, short_subprefecture

if TYPE_CHECKING:
    from bot.directory import Municipality, MunicipalityDirectory, Subprefecture

MAX_TEXT = 128
MAX_CANDIDATES = 5

# Old (旧字体) and variant forms -> the form the directory uses. Only characters that occur in
# Hokkaido's municipality, 郡 and 振興局 names or are commonly typed in their place.
_VARIANTS = {
    "桧": "檜", "邊": "辺", "邉": "辺", "澤": "沢", "濱": "浜", "廣": "広", "龍": "竜", "瀧": "滝",
    "嶋": "島", "嶌": "島", "眞": "真", "國": "国", "當": "当", "豐": "豊", "萬": "万", "壽": "寿",
    "惠": "恵", "增": "増", "黑": "黒", "樣": "様", "淸": "清", "壯": "壮", "禮": "礼", "會": "会",
    "冨": "富", "渕": "淵", "涌": "湧", "舘": "館", "膽": "胆", "榮": "栄", "髙": "高", "德": "徳",
    "來": "来", "靑": "青", "縣": "県", "邨": "村", "嵜": "崎", "﨑": "崎", "鷄": "鶏", "莊": "荘",
    "驛": "駅", "圓": "円", "關": "関", "櫻": "桜", "條": "条", "寳": "宝", "寶": "宝", "峯": "峰",
    "ヶ": "ケ", "ヵ": "カ", "ゖ": "け", "ゕ": "か",
}
_FOLD = str.maketrans(_VARIANTS)
_SUFFIX_READINGS = ("ちょう", "まち", "むら", "そん", "し")
_OFFICE_SUFFIXES = ("役所", "役場", "庁舎", "本庁舎")
_CODE = re.compile(r"^(\d{5})(\d)?$")
_WARD = re.compile(r"^(.+?市)(.+区)$")


def _hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def fold(text: str) -> str:
    """The comparison key of a name: NFKC, spaces and separators removed, old forms replaced,
    katakana as hiragana ("ニセコ町" -> "にせこ町"; the long-vowel mark is kept apart: "オホーツク"
    keeps its "ー" so its key is "おほーつく")."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = re.sub(r"[\s・･\u3000]+", "", text).translate(_FOLD)
    return _hiragana(text).translate(_FOLD)


def _is_kana(text: str) -> bool:
    return bool(text) and all("ぁ" <= c <= "ゖ" or c == "ー" for c in text)


class NameIndex:
    """Folded names, names without suffix, readings and 郡 names of one directory."""

    def __init__(self, directory: "MunicipalityDirectory") -> None:
        self.directory = directory
        self.exact: dict[str, Municipality] = {}
        self.stems: dict[str, list[Municipality]] = {}
        self.readings: dict[str, list[Municipality]] = {}
        self.districts: set[str] = set()
        for m in directory.municipalities:
            self.exact[fold(m.name)] = m
            self.stems.setdefault(fold(m.name[:-1]), []).append(m)
            self.readings.setdefault(m.reading, []).append(m)
            stem = _strip_reading_suffix(m.reading)
            if stem != m.reading:
                self.readings.setdefault(stem, []).append(m)
            if m.district:
                self.districts.add(fold(m.district))
        self.subprefectures: dict[str, Subprefecture] = {}
        for sp in directory.subprefectures:
            for key in (sp.name, sp.short, sp.short + "振興局", sp.short + "総合振興局",
                        sp.short + "支庁"):
                self.subprefectures[fold(key)] = sp

    # ---- municipalities ---------------------------------------------------------------------
    def resolve(self, text: str) -> "Municipality":
        raw = (text or "").strip()
        shown = raw[:40]
        if not raw:
            raise UnknownMunicipality("empty municipality", user_message="市町村名を入力してください。")
        if len(raw) > MAX_TEXT:
            raise UnknownMunicipality("municipality too long",
                                      user_message=f"市町村名は {MAX_TEXT} 文字以内で入力してください。")
        key = fold(raw)
        code = _CODE.match(key)
        if code:
            return self._by_code(code.group(1), code.group(2), shown)
        found = self._find(key)
        if len(found) == 1:
            return found[0]
        if found:
            names = tuple(m.name for m in found)
            raise UnknownMunicipality(
                f"ambiguous municipality {raw!r}", candidates=names,
                user_message=(f"「{shown}」に当てはまる市町村が複数あります（{'、'.join(names)}）。"
                              "いずれかの市町村名をそのまま入力してください。"))
        region = self.subprefecture(raw)
        if region is not None:
            examples = "、".join(m.name for m in region.municipalities[:3])
            raise UnknownMunicipality(
                f"a subprefecture, not a municipality: {raw!r}",
                user_message=(f"「{shown}」は{region.name}の名前です。市町村名を入力してください"
                              f"（{region.name}には{examples}など {len(region.municipalities)} "
                              "市町村があります）。"))
        candidates = self.suggest(key)
        hint = f"もしかして「{'」「'.join(candidates)}」ではありませんか？" if candidates else ""
        raise UnknownMunicipality(
            f"unknown municipality {raw!r}", candidates=candidates,
            user_message=(f"「{shown}」は北海道の市町村として見つかりませんでした。{hint}"
                          "市町村名（例: 稚内市）、よみがな（例: わっかない）、"
                          "または全国地方公共団体コード（例: 012149）で入力してください。"))

    def _by_code(self, code5: str, digit: str | None, shown: str) -> "Municipality":
        expected = check_digit(code5)
        m = self.directory.by_code(code5 + expected)
        if digit is not None and digit != expected:
            hint = f"{m.name}であれば {code5 + expected} です。" if m else "もう一度ご確認ください。"
            raise UnknownMunicipality(
                f"bad check digit in {code5 + digit}",
                candidates=(m.name,) if m else (),
                user_message=f"団体コード「{shown}」の検査数字（6 桁目）が正しくありません。{hint}")
        if m is None:
            raise UnknownMunicipality(
                f"no municipality with code {code5}",
                user_message=f"団体コード「{shown}」に当たる北海道の市町村は見つかりませんでした。")
        return m

    def _find(self, key: str) -> list["Municipality"]:
        """Every municipality the key can mean, trying the strictest reading first."""
        for candidate in _variants_of(key, self.districts):
            if candidate in self.exact:
                return [self.exact[candidate]]
            ward = _WARD.match(candidate)
            if ward and ward.group(1) in self.exact:
                return [self.exact[ward.group(1)]]
        for candidate in _variants_of(key, self.districts):
            if candidate in self.stems:
                return list(self.stems[candidate])
            if _is_kana(candidate) and candidate in self.readings:
                return list(dict.fromkeys(self.readings[candidate]))
        return []

    def suggest(self, key: str) -> tuple[str, ...]:
        """Up to five names close to the key (spelling or reading), names containing it first."""
        key = _strip_prefix(key)
        names: list[str] = []
        if len(key) >= 2:
            names += [m.name for k, m in self.exact.items() if key in k]
            names += [m.name for r, ms in self.readings.items() if key in r for m in ms]
        pool = list(self.exact) + list(self.readings)
        for close in difflib.get_close_matches(key, pool, n=MAX_CANDIDATES, cutoff=0.6):
            names += [self.exact[close].name] if close in self.exact else \
                [m.name for m in self.readings[close]]
        return tuple(dict.fromkeys(names))[:MAX_CANDIDATES]

    # ---- 振興局 -------------------------------------------------------------------------------
    def subprefecture(self, text: str | None) -> "Subprefecture | None":
        key = _strip_prefix(fold(text or ""))
        return self.subprefectures.get(key)


def _strip_prefix(key: str) -> str:
    for prefix in ("北海道", "ほっかいどう"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


def _strip_reading_suffix(reading: str) -> str:
    for suffix in _SUFFIX_READINGS:
        if reading.endswith(suffix) and len(reading) > len(suffix) + 1:
            return reading[: -len(suffix)]
    return reading


def _variants_of(key: str, districts: set[str]):
    """The key as typed, then without 北海道, without 役所/役場, without a leading 郡."""
    seen = []
    base = _strip_prefix(key)
    for office in _OFFICE_SUFFIXES:
        if base.endswith(office) and len(base) > len(office) + 1:
            base = base[: -len(office)]
            break
    for candidate in (key, base):
        if candidate not in seen:
            seen.append(candidate)
        if "郡" in candidate:
            district, _, rest = candidate.partition("郡")
            if rest and (district + "郡" in districts or len(district) <= 4):
                if rest not in seen:
                    seen.append(rest)
    return seen


def subprefecture_key(name: str) -> str:
    """The short form of a (総合)振興局 name as folded text (for config files)."""
    return fold(short_subprefecture(name))
