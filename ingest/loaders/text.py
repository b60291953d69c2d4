"""Markdown and plain text. Optional front matter (`title:`, `doc_type:`) at the top of a file."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.documents import LoadedDocument, TextLine
from ingest.loaders.encoding import decode_bytes
from ingest.structure import MAX_HEADING_CHARS, heading_level

_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)
_H1 = re.compile(r"^#[ \t\u3000]+(.+?)[ \t#]*$")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


def clean_markdown_line(line: str) -> str:
    """Markdown syntax is not content: drop emphasis markers and link targets, bullets -> ・."""
    if re.fullmatch(r"[ \t]*([-*_])([ \t]*\1){2,}[ \t]*", line):  # horizontal rule
        return ""
    line = _LINK.sub(r"\1", line)
    line = _EMPHASIS.sub(r"\2", line)
    line = _BULLET.sub(r"\1・", line)
    if line.lstrip().startswith(">"):
        line = line.lstrip()[1:]
    return line.rstrip()


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT.match(text)
    if not m:
        return {}, text
    meta: dict[str, str] = {}
    for line in m.group(1).splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, text[m.end() :]


def _plain_text_title(lines: list[str]) -> tuple[str, list[str]]:
    """A plain text file's first line is its title when it is short, is not a sentence and is not
    a numbered heading (e.g. "北海道総合戦略" yes; "V 地域戦略" or "詳しくは次のとおり。" no)."""
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None or index + 1 >= len(lines):
        return "", lines
    first = lines[index].strip()
    rest = [line for line in lines[index + 1 :] if line.strip()]
    if (
        rest
        and len(first) <= MAX_HEADING_CHARS
        and not re.search(r"[。．！？!?、，]$", first)
        and heading_level(TextLine(first), 0) is None
    ):
        return first, lines[:index] + lines[index + 1 :]
    return "", lines


def load_text(path: Path) -> LoadedDocument:
    text = decode_bytes(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    meta, body = parse_front_matter(text)
    lines = body.split("\n")
    title = meta.get("title", "")
    if path.suffix.lower() in (".md", ".markdown"):
        h1 = [i for i, line in enumerate(lines) if _H1.match(line.strip())]
        first_content = next((i for i, line in enumerate(lines) if line.strip()), None)
        if len(h1) == 1 and h1[0] == first_content:
            if not title:
                title = _H1.match(lines[h1[0]].strip()).group(1).strip()
            lines = lines[: h1[0]] + lines[h1[0] + 1 :]
        lines = [clean_markdown_line(line) for line in lines if not _FENCE.match(line)]
    elif not title:
        title, lines = _plain_text_title(lines)
    extra = {k: v for k, v in meta.items() if k not in ("title", "doc_type")}
    return LoadedDocument(
        title=title or path.stem,
        lines=[TextLine(line) for line in lines],
        doc_type=meta.get("doc_type") or None,
        extra=extra,
    )
