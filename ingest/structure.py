"""Heading detection for Japanese administrative documents.

Turns a list of `TextLine`s into sections, each with its heading path. Recognised headings:
Markdown `#`…`######` (or a level given by the loader), 第1章 / 第1節, Roman numerals (V, VI,
Ⅵ), arabic numbers (1 / 1. / １), parenthesised numbers ((1) / （１）), circled numbers (①), and
marker headings (■ …, 【…】, 〈…〉, ＜…＞, 《…》). A marker heading sits one level below the
nearest numbered heading above it, so "■ 取組の構成" under "VI" is replaced by the following "1".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ingest.documents import TextLine

MAX_HEADING_CHARS = 60

_NUM = r"[0-9０-９]{1,2}"
_KANJI_NUM = r"[0-9０-９一二三四五六七八九十百]+"
_SEP = r"(?:[\s\u3000]+|[.．、](?:[\s\u3000]*))"
_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^第{_KANJI_NUM}[章部編](?:[\s\u3000]|$)")),
    (2, re.compile(rf"^第{_KANJI_NUM}節(?:[\s\u3000]|$)")),
    (2, re.compile(r"^(?:[IVX]{1,5}|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ]{1,3})" + _SEP + r"\S")),
    (3, re.compile(rf"^{_NUM}{_SEP}(?![0-9０-９年月日時%％])\S")),
    (4, re.compile(rf"^[(（]{_NUM}[)）][\s\u3000]*\S")),
    (5, re.compile(r"^[①-⑳][\s\u3000]*\S")),
]
_MARKERS = [
    re.compile(r"^[■□◆◇▼▽◎][\s\u3000]*\S"),
    re.compile(r"^【[^】]{1,40}】$"),
    re.compile(r"^〈[^〉]{1,40}〉$"),
    re.compile(r"^＜[^＞]{1,40}＞$"),
    re.compile(r"^<[^>]{1,40}>$"),
    re.compile(r"^《[^》]{1,40}》$"),
]
_MD_HEADING = re.compile(r"^(#{1,6})[ \t\u3000]+(.+?)[ \t#]*$")
_SENTENCE_END = re.compile(r"[。．！？!?]$")


@dataclass
class Section:
    path: list[str]
    lines: list[TextLine] = field(default_factory=list)


def _clean(text: str) -> str:
    return re.sub(r"[\s\u3000]+", " ", text).strip()


def heading_level(line: TextLine, current_numbered_level: int) -> int | None:
    """Level of `line` as a heading (smaller = outer), or None for body text."""
    if line.heading_level is not None:
        return line.heading_level
    text = line.text.strip()
    md = _MD_HEADING.match(text)
    if md:
        return len(md.group(1))
    if not text or len(text) > MAX_HEADING_CHARS or _SENTENCE_END.search(text):
        return None
    for level, pattern in _PATTERNS:
        if pattern.match(text):
            return level
    for pattern in _MARKERS:
        if pattern.match(text):
            return current_numbered_level + 1
    return None


def heading_text(line: TextLine) -> str:
    text = line.text.strip()
    md = _MD_HEADING.match(text)
    if md:
        text = md.group(2)
    return _clean(text)


def split_sections(lines: list[TextLine]) -> list[Section]:
    """Group body lines under their heading path. Headings without body produce no section of
    their own (their words still appear in the path of the sections below them)."""
    return list(iter_sections(lines))


def iter_sections(lines: Iterable[TextLine], max_chars: int | None = None) -> Iterator[Section]:
    """`split_sections` one section at a time. With `max_chars`, a section is handed on in
    pieces of about that many characters (each piece with the same path), so a huge file
    without headings never sits in memory whole."""
    stack: list[tuple[int, str, bool]] = []  # (level, text, is_marker)
    current = Section(path=[])
    size = 0
    for line in lines:
        numbered = [lvl for lvl, _, marker in stack if not marker]
        level = heading_level(line, numbered[-1] if numbered else 0)
        if level is None:
            if line.text.strip():
                current.lines.append(line)
                size += len(line.text)
                if max_chars is not None and size >= max_chars:
                    yield current
                    current, size = Section(path=list(current.path)), 0
            continue
        if current.lines:
            yield current
        is_marker = line.heading_level is None and not _MD_HEADING.match(line.text.strip()) and not any(
            p.match(line.text.strip()) for _, p in _PATTERNS
        )
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading_text(line), is_marker))
        current, size = Section(path=[t for _, t, _ in stack]), 0
    if current.lines:
        yield current
