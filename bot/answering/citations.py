"""[n] citations: validate, drop the ones that point at passages that were not given, renumber so
that the answer's sources list holds exactly the cited passages ([n] = sources[n-1])."""

from __future__ import annotations

import re
from typing import Sequence, TypeVar

T = TypeVar("T")

# [1], [1][2], ［1］, [1, 2], [1,3] (models write all of these)
_CITE = re.compile(r"[\[［]\s*(\d{1,3}(?:\s*[,、，]\s*\d{1,3})*)\s*[\]］]")


def cited_numbers(text: str) -> list[int]:
    out: list[int] = []
    for m in _CITE.finditer(text):
        out.extend(int(x) for x in re.split(r"[,、，]", m.group(1)) if x.strip())
    return out


def renumber(text: str, passages: Sequence[T]) -> tuple[str, list[T], list[int]]:
    """Return (text with only valid citations, renumbered 1.. in order of first use; the cited
    passages in that order; the invalid numbers that were removed)."""
    mapping: dict[int, int] = {}
    invalid: list[int] = []

    def _sub(m: re.Match) -> str:
        parts = []
        for raw in re.split(r"[,、，]", m.group(1)):
            if not raw.strip():
                continue
            n = int(raw)
            if 1 <= n <= len(passages):
                if n not in mapping:
                    mapping[n] = len(mapping) + 1
                new = f"[{mapping[n]}]"
                if new not in parts:
                    parts.append(new)
            else:
                invalid.append(n)
        return "".join(parts)

    cleaned = _CITE.sub(_sub, text)
    cleaned = re.sub(r"[ \t]+([。、．，])", r"\1", cleaned)  # "文 。" left by a removed citation
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    ordered = sorted(mapping.items(), key=lambda kv: kv[1])
    return cleaned, [passages[old - 1] for old, _ in ordered], invalid
