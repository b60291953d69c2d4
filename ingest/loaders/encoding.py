"""Decoding of text files published by Japanese local governments: UTF-8 (with or without BOM),
Shift_JIS / CP932, EUC-JP, ISO-2022-JP and UTF-16 (with or without BOM).

Several of these decode the same bytes without error (a short EUC-JP file is valid CP932:
「振興局」 comes out as 「ｿｶｶｽｶﾉ」), so the codec is not the first one that raises no error but
the one whose text looks most like Japanese: every candidate that decodes strictly is scored by
the share of ordinary characters (ASCII, kana, common kanji, Japanese punctuation), with
penalties for half-width katakana, control characters, private-use and replacement characters.
A file that reads only as mojibake in every candidate is refused with `LoadError`.

Large files are read in blocks (`iter_lines`): the codec is chosen on the first `SAMPLE_BYTES`
and the rest is decoded incrementally, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ingest.errors import LoadError

SAMPLE_BYTES = 256 * 1024  # the codec is chosen on this much of a file
BLOCK_BYTES = 1 << 20
MIN_PLAUSIBILITY = 0.55  # below this, the best decoding is taken for mojibake
UTF16_HANDICAP = 0.15
UTF8_BONUS = 0.3

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CANDIDATES = ("utf-8", "cp932", "euc_jp")
_UTF16 = ("utf-16-le", "utf-16-be")

MOJIBAKE_MESSAGE = ("文字化けしているため取り込みませんでした（UTF-8・Shift_JIS・EUC-JP・UTF-16 の"
                    "いずれで読んでも日本語の文章になりません）。UTF-8 で保存し直してください")


@lru_cache(maxsize=1)
def _common_kanji() -> re.Pattern[str]:
    """JIS X 0208 level-1 kanji (the ~3,000 everyday ones): Shift_JIS lead bytes 0x88-0x98."""
    chars = set()
    for lead in range(0x88, 0x99):
        for trail in list(range(0x40, 0x7F)) + list(range(0x80, 0xFD)):
            try:
                ch = bytes((lead, trail)).decode("cp932")
            except UnicodeDecodeError:
                continue
            if "\u4e00" <= ch <= "\u9fff":
                chars.add(ch)
    return re.compile("[" + "".join(sorted(chars)) + "]+")


_ORDINARY = re.compile(
    r"[\t\n\r\x20-\x7e"          # ASCII text
    r"\u3000-\u303f"             # Japanese punctuation 、。「」
    r"\u3041-\u309f\u30a0-\u30ff"  # hiragana, katakana
    r"\uff01-\uff60\uffe0-\uffe6"  # full-width forms
    r"]+")
_SYMBOLS = re.compile(r"[\u00a0-\u00ff\u2010-\u2bff\u3200-\u33ff]+")  # ①, ○, →, ℃, ㈱ …
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]+")
_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd]+")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(len(m) for m in pattern.findall(text))


def plausibility(text: str, halfwidth_weight: float = -0.3) -> float:
    """How much `text` looks like Japanese (or plain ASCII) prose: 1.0 = only ordinary
    characters; mojibake scores low or negative. Half-width katakana counts `halfwidth_weight`:
    strongly negative when choosing between readings (mojibake of EUC-JP read as CP932 is made
    of it), milder when judging whether the chosen reading is text at all."""
    if not text:
        return 1.0
    ordinary = _count(_ORDINARY, text)
    common = _count(_common_kanji(), text)
    kanji = _count(_KANJI, text)
    symbols = _count(_SYMBOLS, text)
    halfwidth = _count(_HALFWIDTH_KANA, text)
    bad = _count(_BAD, text)
    other = len(text) - ordinary - kanji - symbols - halfwidth - bad
    score = (ordinary + common + 0.25 * (kanji - common) + 0.7 * symbols + 0.2 * other
             + halfwidth_weight * halfwidth - 3.0 * bad)
    return score / len(text)


def _decode_head(data: bytes, codec: str, final: bool) -> str | None:
    """Strict decoding of `data` (a file's head when not `final`: a cut character is fine)."""
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final)
    except UnicodeDecodeError:
        return None


def _utf16_likely(data: bytes) -> bool:
    """BOM-less UTF-16 with some ASCII in it: NUL bytes on one side of the code units."""
    if len(data) < 4:
        return False
    odd, even = data[1::2].count(0), data[0::2].count(0)
    return max(odd, even) >= len(data) // 8 and min(odd, even) * 4 < max(odd, even)


def detect(data: bytes, *, complete: bool = True) -> tuple[str, int]:
    """(codec, BOM length) for `data` (the whole file, or its head when not `complete`).
    Raises LoadError when no candidate yields plausible text."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    candidates = [(codec, 0.0) for codec in _CANDIDATES]
    if b"\x1b$B" in data[:4096] or b"\x1b$@" in data[:4096]:
        candidates.insert(0, ("iso2022_jp", 0.0))
    # BOM-less UTF-16: with ASCII in it, NUL bytes on one side give it away; pure Japanese has
    # none, so it is always a candidate, handicapped so that it must read clearly better.
    handicap = 0.0 if _utf16_likely(data) else UTF16_HANDICAP
    candidates += [(codec, handicap) for codec in _UTF16]
    best: tuple[float, str] | None = None
    for codec, adjust in candidates:
        text = _decode_head(data, codec, complete)
        if text is None or plausibility(text, halfwidth_weight=0.7) < MIN_PLAUSIBILITY:
            continue  # not text at all in this reading
        if codec == "utf-8" and sum(ch > "\x7f" for ch in text[:64]) >= 2:
            adjust -= UTF8_BONUS  # valid multi-byte UTF-8 hardly ever happens by chance
        score = plausibility(text) - adjust
        if best is None or score > best[0]:
            best = (score, codec)
    if best is None:
        raise LoadError(MOJIBAKE_MESSAGE)
    return best[1], 0


def decode_bytes(data: bytes) -> str:
    """The whole file as text, decoded with the codec `detect` chose."""
    codec, skip = detect(data[:SAMPLE_BYTES], complete=len(data) <= SAMPLE_BYTES)
    body = data[skip:]
    try:
        return body.decode(codec)
    except UnicodeDecodeError:  # a bad byte after the sample: keep the text, mark the spot
        text = body.decode(codec, errors="replace")
        if text.count("\ufffd") > max(10, len(text) // 200):
            raise LoadError(MOJIBAKE_MESSAGE) from None
        return text


def iter_lines(path: Path, block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """The lines of a text file (without line ends; CRLF / CR normalised), read in blocks.

    The codec is chosen on the head of the file; LoadError (mojibake) is raised before the first
    line is produced. Undecodable bytes later in the file become U+FFFD."""
    fh = open(path, "rb")
    try:
        head = fh.read(SAMPLE_BYTES)
        codec, skip = detect(head, complete=len(head) < SAMPLE_BYTES)
    except BaseException:
        fh.close()
        raise
    return _lines(fh, head[skip:], codec, block_bytes)


def _lines(fh, first: bytes, codec: str, block_bytes: int) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(codec)("replace")
    pending = ""
    with fh:
        block = first
        while True:
            final = not block
            text = pending + decoder.decode(block, final)
            text = text.replace("\r\n", "\n")
            if not final and text.endswith("\r"):
                pending, text = "\r", text[:-1]  # a CRLF may be split between blocks
            else:
                pending = ""
            text = text.replace("\r", "\n")
            parts = text.split("\n")
            if final:
                if parts[-1] == "":
                    parts.pop()
                yield from parts
                return
            pending = parts.pop() + pending
            yield from parts
            block = fh.read(block_bytes)
