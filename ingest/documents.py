"""What loaders produce and the chunker consumes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TextLine:
    text: str
    page: int = 0  # 1-based page number, 0 when unknown
    heading_level: int | None = None  # set by loaders that know the structure (HTML h2, docx styles)


@dataclass
class Record:
    """One FAQ row: becomes exactly one chunk."""

    question: str
    answer: str
    section: str = ""
    row: int = 0
    extra: dict[str, str | int | float] = field(default_factory=dict)


@dataclass
class LoadedDocument:
    """`lines` is a list, or — for a large text file (`streamed`) — an iterator that reads the
    file as it is consumed (once); `char_count()` then counts only what was read so far."""

    title: str
    lines: list[TextLine] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    doc_type: str | None = None  # from front matter, when given
    extra: dict[str, str | int | float] = field(default_factory=dict)
    streamed: bool = False
    streamed_chars: int = 0  # characters read so far from a streamed document

    def char_count(self) -> int:
        if self.streamed:
            return self.streamed_chars
        return sum(len(x.text) for x in self.lines) + sum(
            len(r.question) + len(r.answer) for r in self.records
        )
