"""Markdown and plain text. Optional front matter (`title:`, `doc_type:`) at the top of a file."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.documents import LoadedDocument, TextLine
from ingest.loaders.encoding import decode_bytes

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
    extra = {k: v for k, v in meta.items() if k not in ("title", "doc_type")}
    return LoadedDocument(
        title=title or path.stem,
        lines=[TextLine(line) for line in lines],
        doc_type=meta.get("doc_type") or None,
        extra=extra,
    )
