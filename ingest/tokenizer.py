"""Japanese tokens for the lexical (BM25) index and for queries.

SudachiPy with sudachidict-core: NFKC first, then the dictionary's normalized form, katakana
folded to hiragana (so ごみ / ゴミ match), ASCII lower-cased; particles, auxiliary verbs,
symbols and whitespace dropped. Ingest and retrieval must use this same function.

Split mode A was chosen by measurement: BM25 over the 1,159 JSQuAD test paragraphs (4,420
questions) gave R@1/R@5/MRR@10 0.888/0.971/0.924 with mode A, 0.889/0.969/0.924 with B and
0.887/0.968/0.922 with C.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from sudachipy import Dictionary, SplitMode

# Sudachi refuses inputs above ~49 KB; stay well below in characters (3 bytes each in UTF-8).
_MAX_PIECE_CHARS = 12_000
_DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})
_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}
SPLIT_MODE = SplitMode.A

_local = threading.local()


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    return Dictionary(dict="core")


def _tokenizer(mode: SplitMode = SPLIT_MODE):
    # Sudachi tokenizer objects are not safe to share across threads (Slack handlers run in a
    # pool): one cached object per thread and split mode.
    cache = getattr(_local, "tokenizers", None)
    if cache is None:
        cache = _local.tokenizers = {}
    key = str(mode)  # SplitMode is not hashable
    tok = cache.get(key)
    if tok is None:
        tok = cache[key] = _dictionary().tokenizer(mode=mode, fields={"pos", "normalized_form"})
    return tok


def fold_kana(text: str) -> str:
    return text.translate(_KATAKANA_TO_HIRAGANA)


def _pieces(text: str):
    while len(text) > _MAX_PIECE_CHARS:
        cut = text.rfind("\n", 0, _MAX_PIECE_CHARS)
        if cut < _MAX_PIECE_CHARS // 2:
            cut = text.rfind("。", 0, _MAX_PIECE_CHARS)
        if cut < _MAX_PIECE_CHARS // 2:
            cut = _MAX_PIECE_CHARS
        yield text[: cut + 1]
        text = text[cut + 1 :]
    if text:
        yield text


def tokenize(text: str) -> list[str]:
    """Content-word tokens of `text`, normalised for matching."""
    text = unicodedata.normalize("NFKC", text or "")
    tok = _tokenizer()
    out: list[str] = []
    for piece in _pieces(text):
        for m in tok.tokenize(piece):
            if m.part_of_speech()[0] in _DROP_POS:
                continue
            form = m.normalized_form() or m.surface()
            form = fold_kana(form).lower().strip()
            if form:
                out.append(form)
    return out


class Morpheme(NamedTuple):
    """One token with its part of speech (for analysing questions, not for the index)."""

    surface: str
    form: str                   # as `tokenize` would give it (normalised, kana folded)
    pos: tuple[str, ...]        # Sudachi's part of speech, e.g. ("名詞", "固有名詞", "一般", ...)


def morphemes(text: str, *, compounds: bool = False) -> list[Morpheme]:
    """Every token of `text` (particles and symbols included) with its part of speech. With
    `compounds`, Sudachi's mode C keeps compound nouns whole (国民健康保険税, 申請方法)."""
    text = unicodedata.normalize("NFKC", text or "")
    tok = _tokenizer(SplitMode.C if compounds else SPLIT_MODE)
    out: list[Morpheme] = []
    for piece in _pieces(text):
        for m in tok.tokenize(piece):
            form = fold_kana(m.normalized_form() or m.surface()).lower().strip()
            out.append(Morpheme(m.surface(), form, tuple(m.part_of_speech())))
    return out
