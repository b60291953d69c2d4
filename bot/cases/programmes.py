"""Derive the programme(s) a consultation concerns from the sources its answer cited.

A source's section is a heading path such as ``"VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり
総合交付金"``; the programme is its deepest heading with the numbering removed
(``"地域づくり総合交付金"``). An FAQ row counts under the section it rests on (its 該当箇所 column,
``Passage.basis``) rather than its sheet category. Sources without a section fall back to their
title.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from bot.domain import Passage

# Leading numbering of Japanese administrative headings: "VI ", "1 ", "(1) ", "（１）", "①",
# "ア ", "■ ", "〈…〉" brackets, "第1章" …
_NUMBERING = re.compile(
    r"^\s*(?:[■□●○◆◇・]\s*|\(?[0-9]+\)?[.．、]?\s+|\([0-9]+\)\s*|[IVXLC]+[.．]?\s+|"
    r"[①-⑳]\s*|[ア-ン][.．、]?\s+|第[0-9一二三四五六七八九十]+[章節条項]\s*)+"
)
_CITATION = re.compile(r"\[(\d+)\]")
MAX_PROGRAMMES = 5


def programme_of(passage: Passage) -> str | None:
    section = (passage.basis or passage.section or "").strip()
    heading = section.split(">")[-1] if section else (passage.title or "")
    heading = unicodedata.normalize("NFKC", heading).strip()
    heading = _NUMBERING.sub("", heading).strip(" 〈〉<>「」")
    return heading[:128] or None


def cited_passages(answer_text: str, sources: list[Passage]) -> list[Passage]:
    """The sources the answer cites with [n]; all of them when it cites none explicitly."""
    cited = []
    for match in _CITATION.finditer(answer_text or ""):
        n = int(match.group(1))
        if 1 <= n <= len(sources) and sources[n - 1] not in cited:
            cited.append(sources[n - 1])
    return cited or list(sources)


def derive_programmes(answer_text: str, sources: list[Passage],
                      existing: Iterable[str] = ()) -> list[str]:
    """Programmes of the case so far plus those of the passages cited by this answer."""
    result = [p for p in existing if p]
    for passage in cited_passages(answer_text, sources):
        name = programme_of(passage)
        if name and name not in result:
            result.append(name)
    return result[:MAX_PROGRAMMES]
