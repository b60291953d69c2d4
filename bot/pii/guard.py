"""The one PII guard: ``PiiGuard.mask(text) -> (masked, kinds)``.

normalise (NFKC, kanji numerals, separators) -> detectors on the normalised text (numbers.py:
phones via phonenumbers, マイナンバー via python-stdnum, e-mail; rules.py: postal codes, street
addresses, birth dates; names.py: GiNZA + honorifics) -> overlapping findings resolved by kind ->
each span mapped back to the original text and replaced by its typed placeholder (〔氏名〕 …).

``PiiGuard(ner=False)`` is the fast path without the NER model (no names); the product builds
``PiiGuard()`` (names on) once in ``build_services`` and hands it to every service.
"""

from __future__ import annotations

import re

from bot.pii import numbers, rules
from bot.pii.normalise import normalise
from bot.pii.spans import KINDS, PLACEHOLDERS, Span, resolve

_JAPANESE = re.compile(r"[ぁ-んァ-ヺ一-龥々]")
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


PII_NOTICE = (
    "ご質問に個人情報（氏名、住所、電話番号、メールアドレス、生年月日、マイナンバーなど）と思われる"
    "内容が含まれていたため、該当部分を伏せ字にして処理しました。個人情報はこちらに投稿しないよう"
    "お願いいたします。"
)


class PiiGuard:
    def __init__(self, *, ner: bool = True, ner_whole_message: bool = False):
        self.ner = ner
        # the model reads short windows around name candidates; True = the whole message
        # (the former, slower behaviour: bench/pii.py's in-process baseline)
        self.ner_whole_message = ner_whole_message

    @classmethod
    def from_settings(cls, settings) -> "PiiGuard":
        return cls(ner=getattr(settings, "pii_ner", True))

    def warm(self) -> "PiiGuard":
        """Load the NER model now (long-running processes, before the first question)."""
        if self.ner:
            from bot.pii.names import load_model

            load_model()
        return self

    def find(self, text: str) -> list[Span]:
        """Spans of personal data in ``text`` (original offsets), non-overlapping, in order."""
        if not text or not text.strip():
            return []
        norm = normalise(text)
        t = norm.text
        found = (numbers.emails(t) + numbers.my_numbers(t) + numbers.phones(t)
                 + rules.addresses(t) + rules.birth_dates(t))
        if self.ner and _JAPANESE.search(t):        # names are detected in Japanese text only
            from bot.pii.names import WINDOW, names

            found += names(t, window=None if self.ner_whole_message else WINDOW)
        found = [s for s in found if not _PLACEHOLDER.search(t, s.start, s.end)]
        return [Span(*norm.original(s.start, s.end), s.kind) for s in resolve(found)]

    def mask(self, text: str) -> tuple[str, list[str]]:
        """The text with each finding replaced by its placeholder, and the kinds found (each
        once, in a stable order)."""
        if not text:
            return text, []
        spans = self.find(text)
        if not spans:
            return text, []
        parts, pos = [], 0
        for s in spans:
            parts.append(text[pos:s.start])
            parts.append(PLACEHOLDERS[s.kind])
            pos = s.end
        parts.append(text[pos:])
        kinds = {s.kind for s in spans}
        return "".join(parts), [k for k in KINDS if k in kinds]

    def mask_text(self, text: str) -> str:
        return self.mask(text)[0]

    __call__ = mask_text
