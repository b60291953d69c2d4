"""The kinds of personal data, their placeholders, and a found span."""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME, PHONE, ADDRESS, BIRTH_DATE, MY_NUMBER, EMAIL = (
    "name", "phone", "address", "birth_date", "my_number", "email")
KINDS = (MY_NUMBER, PHONE, EMAIL, NAME, ADDRESS, BIRTH_DATE)      # stable order of `kinds`
PLACEHOLDERS = {
    NAME: "〔氏名〕", PHONE: "〔電話番号〕", ADDRESS: "〔住所〕", BIRTH_DATE: "〔生年月日〕",
    MY_NUMBER: "〔個人番号〕", EMAIL: "〔メール〕",
}
LABELS = {NAME: "氏名", PHONE: "電話番号", ADDRESS: "住所", BIRTH_DATE: "生年月日",
          MY_NUMBER: "マイナンバー", EMAIL: "メールアドレス"}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


def strip_placeholders(text: str) -> str:
    """The text without placeholders (a search must not look for 「氏名」 or 「電話番号」)."""
    return _PLACEHOLDER.sub(" ", text) if "〔" in text else text


# When two findings overlap, the higher one wins (then the longer one).
PRIORITY = {MY_NUMBER: 6, EMAIL: 5, PHONE: 4, BIRTH_DATE: 3, ADDRESS: 2, NAME: 1}


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end


def resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, in order: of overlapping ones the higher kind, then the longer,
    wins; adjacent spans of one kind are merged."""
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (-PRIORITY[s.kind], -(s.end - s.start), s.start)):
        if not any(s.overlaps(c) for c in chosen):
            chosen.append(s)
    chosen.sort()
    merged: list[Span] = []
    for s in chosen:
        if merged and merged[-1].kind == s.kind and merged[-1].end >= s.start:
            merged[-1] = Span(merged[-1].start, max(s.end, merged[-1].end), s.kind)
        else:
            merged.append(s)
    return merged
