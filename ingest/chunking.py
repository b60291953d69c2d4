"""Japanese-aware chunking: structure first (see `structure.py`), then sentences.

A section's body is split into sentences at 。！？ (and full-width/ASCII variants) and at line
breaks, then packed greedily up to `chunk_size` characters. Consecutive chunks of one section
share a small overlap (whole trailing sentences up to `overlap` characters). A sentence is cut
only when it alone exceeds `chunk_size`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ingest.documents import TextLine
from ingest.structure import iter_sections

DEFAULT_CHUNK_SIZE = 400
DEFAULT_OVERLAP = 80

_SENTENCE = re.compile(r".*?(?:[。！？!?]+[」』）)]*|$)", re.S)


@dataclass
class ChunkText:
    section: str  # heading path joined with " > "
    body: str
    page: int = 0


def split_sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        for m in _SENTENCE.finditer(line):
            s = m.group(0).strip()
            if s:
                out.append(s)
    return out


def _hard_split(sentence: str, size: int) -> list[str]:
    return [sentence[i : i + size] for i in range(0, len(sentence), size)]


def pack_sentences(
    sentences: list[tuple[str, int]], chunk_size: int, overlap: int
) -> list[tuple[str, int]]:
    """Greedy packing of (sentence, page) into (body, page) chunks."""
    units: list[tuple[str, int]] = []
    for s, page in sentences:
        if len(s) > chunk_size:
            units.extend((piece, page) for piece in _hard_split(s, chunk_size))
        else:
            units.append((s, page))
    chunks: list[tuple[str, int]] = []
    current: list[tuple[str, int]] = []
    length = 0
    fresh = 0  # sentences in `current` that are not overlap from the previous chunk
    for unit in units:
        sep = 1 if current else 0
        if current and length + sep + len(unit[0]) > chunk_size and fresh:
            chunks.append(("\n".join(u for u, _ in current), current[0][1]))
            tail: list[tuple[str, int]] = []
            tail_len = 0
            for prev in reversed(current):
                if tail_len + len(prev[0]) > overlap or len(tail) >= 2:
                    break
                tail.insert(0, prev)
                tail_len += len(prev[0]) + 1
            if tail_len + len(unit[0]) > chunk_size:
                tail, tail_len = [], 0
            current, length, fresh = tail, max(tail_len - 1, 0), 0
            sep = 1 if current else 0
        current.append(unit)
        length += sep + len(unit[0])
        fresh += 1
    if current and fresh:
        body = "\n".join(u for u, _ in current)
        if chunks and len(body) < chunk_size // 4:
            prev_body, prev_page = chunks[-1]
            merged_units = [u for u, _ in current[len(current) - fresh :]]
            merged = prev_body + "\n" + "\n".join(merged_units)
            if len(merged) <= chunk_size * 5 // 4:
                chunks[-1] = (merged, prev_page)
                return chunks
        chunks.append((body, current[0][1]))
    return chunks


def chunk_lines(
    lines: list[TextLine], chunk_size: int = DEFAULT_CHUNK_SIZE, overlap: int = DEFAULT_OVERLAP
) -> list[ChunkText]:
    return list(iter_chunk_lines(lines, chunk_size, overlap))


def iter_chunk_lines(lines: Iterable[TextLine], chunk_size: int = DEFAULT_CHUNK_SIZE,
                     overlap: int = DEFAULT_OVERLAP, max_section_chars: int | None = None
                     ) -> Iterator[ChunkText]:
    """`chunk_lines` lazily; `max_section_chars` bounds memory for streamed documents (see
    `structure.iter_sections`)."""
    for section in iter_sections(lines, max_section_chars):
        sentences = [(s, line.page) for line in section.lines for s in split_sentences(line.text)]
        if not sentences:
            continue
        for body, page in pack_sentences(sentences, chunk_size, overlap):
            yield ChunkText(section=" > ".join(section.path), body=body, page=page)
