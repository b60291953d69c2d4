"""Markdown and plain text. Optional front matter (`title:`, `doc_type:`) at the top of a file."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from ingest.documents import LoadedDocument, TextLine
from ingest.loaders.encoding import decode_bytes, iter_lines
from ingest.structure import MAX_HEADING_CHARS, heading_level

_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)
_H1 = re.compile(r"^#[ \t\u3000]+(.+?)[ \t#]*$")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
STREAM_BYTES = 2 * 1024 * 1024  # larger text files are read as a stream, never whole


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


def _plain_title_ok(first: str) -> bool:
    """A plain text file's first line is its title when it is short, is not a sentence and is not
    a numbered heading (e.g. "北海道総合戦略" yes; "V 地域戦略" or "詳しくは次のとおり。" no)."""
    return (len(first) <= MAX_HEADING_CHARS and not re.search(r"[。．！？!?、，]$", first)
            and heading_level(TextLine(first), 0) is None)


def _plain_text_title(lines: list[str]) -> tuple[str, list[str]]:
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None or index + 1 >= len(lines):
        return "", lines
    first = lines[index].strip()
    rest = [line for line in lines[index + 1 :] if line.strip()]
    if rest and _plain_title_ok(first):
        return first, lines[:index] + lines[index + 1 :]
    return "", lines


def load_text(path: Path) -> LoadedDocument:
    if path.stat().st_size > STREAM_BYTES:
        return _load_streamed(path)
    text = decode_bytes(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    meta, body = parse_front_matter(text)
    lines = body.split("\n")
    title = meta.get("title", "")
    if _is_markdown(path):
        h1 = [i for i, line in enumerate(lines) if _H1.match(line.strip())]
        first_content = next((i for i, line in enumerate(lines) if line.strip()), None)
        if len(h1) == 1 and h1[0] == first_content:
            if not title:
                title = _H1.match(lines[h1[0]].strip()).group(1).strip()
            lines = lines[: h1[0]] + lines[h1[0] + 1 :]
        lines = [clean_markdown_line(line) for line in lines if not _FENCE.match(line)]
    elif not title:
        title, lines = _plain_text_title(lines)
    return _document(path, meta, title, [TextLine(line) for line in lines])


def _is_markdown(path: Path) -> bool:
    return path.suffix.lower() in (".md", ".markdown")


def _document(path: Path, meta: dict, title: str, lines, streamed: bool = False) -> LoadedDocument:
    extra = {k: v for k, v in meta.items() if k not in ("title", "doc_type")}
    return LoadedDocument(
        title=title or path.stem,
        lines=lines,
        doc_type=meta.get("doc_type") or None,
        extra=extra,
        streamed=streamed,
    )


def _load_streamed(path: Path) -> LoadedDocument:
    """A large text file, read in blocks as its chunks are taken: the same rules as `load_text`
    (front matter, a lone leading `#` heading or a short first line as the title), applied to a
    stream. The encoding is checked before this returns (mojibake raises LoadError here)."""
    lines = iter_lines(path)
    head: list[str] = []
    body_at: int | None = 0
    for line in lines:  # the front matter and the first content lines decide the title
        head.append(line)
        body_at = _front_matter_end(head)
        if len(head) >= 200 or (body_at is not None and
                                sum(1 for x in head[body_at:] if x.strip()) >= 2):
            break
    if body_at is None:  # an unterminated front matter is text
        body_at = 0
    meta, _ = parse_front_matter("\n".join(head[:body_at]) + "\n") if body_at else ({}, "")
    head = head[body_at:]
    title = meta.get("title", "")
    first = next((i for i, line in enumerate(head) if line.strip()), None)
    if _is_markdown(path):
        m = _H1.match(head[first].strip()) if first is not None else None
        if m and _count_h1(path) == 1:
            title = title or m.group(1).strip()
            del head[first]
    elif (not title and first is not None and any(x.strip() for x in head[first + 1:])
          and _plain_title_ok(head[first].strip())):
        title = head.pop(first).strip()
    document = _document(path, meta, title, [], streamed=True)
    document.lines = _stream(document, head, lines, _is_markdown(path))
    return document


_FRONT_LINE = re.compile(r"^---[ \t]*$")


def _front_matter_end(head: list[str]) -> int | None:
    """Index of the first body line: 0 without front matter, None while it is still open."""
    if not head or not _FRONT_LINE.match(head[0]):
        return 0
    for i in range(1, len(head)):
        if _FRONT_LINE.match(head[i]):
            return i + 1
    return None


def _count_h1(path: Path) -> int:
    count = 0
    for line in iter_lines(path):
        if _H1.match(line.strip()):
            count += 1
            if count > 1:
                break
    return count


def _stream(document: LoadedDocument, head: list[str], rest, markdown: bool):
    for line in itertools.chain(head, rest):
        document.streamed_chars += len(line)
        if markdown:
            if _FENCE.match(line):
                continue
            line = clean_markdown_line(line)
        yield TextLine(line)
