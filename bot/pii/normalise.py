"""Text normalisation for the PII detectors, with a map back to the original offsets.

``normalise(text) -> Normalised``: NFKC character by character (full-width digits, letters, ＠ and
．become ASCII; a character that expands, like ㈱ -> (株), maps every output character back to its
source), then, inside runs of numerals only, kanji numerals become digits (〇九〇 -> 090) and dash
look-alikes or ・ between numerals become ``-`` — one character for one, so offsets stay exact.
Detectors search ``Normalised.text``; ``Normalised.original(start, end)`` gives the span in the
text the officer typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KANJI_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
DASHES = "-‐‑‒–—―−ｰー─━~〜"
# A run of at least six numerals (ASCII or kanji, 十 excluded) with separators between them.
_NUMERAL = "[0-9〇零一二三四五六七八九]"
_RUN = re.compile(rf"{_NUMERAL}(?:[{re.escape(DASHES)}・.()\s]{{0,2}}{_NUMERAL}){{5,}}")
_SEP_IN_RUN = re.compile(rf"(?<=[0-9)])[{re.escape(DASHES)}・](?=[0-9(])")


@dataclass(frozen=True)
class Normalised:
    source: str
    text: str
    starts: tuple[int, ...]   # for each character of `text`: the index of its source character

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of ``source`` that produced ``text[start:end]``."""
        if start >= end:
            return (self.starts[start] if start < len(self.starts) else len(self.source),) * 2
        return self.starts[start], self.starts[end - 1] + 1


def normalise(text: str) -> Normalised:
    out: list[str] = []
    starts: list[int] = []
    for i, ch in enumerate(text):
        n = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch
        if not n:
            continue
        out.append(n)
        starts.extend([i] * len(n))
    flat = "".join(out)
    if any(c in flat for c in "〇零一二三四五六七八九") or any(c in flat for c in DASHES + "・"):
        chars = list(flat)
        for m in _RUN.finditer(flat):
            run = m.group(0).translate(KANJI_DIGITS)
            if sum(c.isdigit() for c in run) < 6:
                continue
            run = _SEP_IN_RUN.sub("-", run)
            chars[m.start():m.end()] = list(run)
        flat = "".join(chars)
    return Normalised(text, flat, tuple(starts))
