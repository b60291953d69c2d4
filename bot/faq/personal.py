"""Personal data in FAQ entries: what may remain after masking, said before approval.

Masking itself is the product's one PII engine (the workflow's ``mask``, handed to
``FaqService``); this module only looks for what an entry that every officer will read should
not contain and the engine may have let through:

- a person's name (Sudachi's 人名: 「佐藤さん」「田中課長」);
- a phone or extension number (「内線1234」, a run of digits written like a phone number).

``warnings(text)`` returns polite Japanese sentences, one per finding (empty when clean).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

_PHONE_LIKE = re.compile(
    r"(?:内線|ないせん|直通|TEL|Tel|tel|電話|ＴＥＬ)\s*[:：]?\s*[0-9０-９][0-9０-９\-‐－ー()（） ]{2,}"
    r"|(?<![0-9０-９])[0-9０-９]{2,5}[\-‐－ー(（)）][0-9０-９]{1,4}[\-‐－ー)）][0-9０-９]{3,4}(?![0-9０-９])"
    r"|(?<![0-9０-９])0[0-9０-９]{9,10}(?![0-9０-９])")
_local = threading.local()


@lru_cache(maxsize=1)
def _dictionary():
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def _tokenizer():
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import SplitMode

        tok = _dictionary().tokenizer(mode=SplitMode.C)
        _local.tokenizer = tok
    return tok


def person_names(text: str) -> list[str]:
    """Words Sudachi reads as a person's name (surname or given name), in order, once each."""
    found: list[str] = []
    text = unicodedata.normalize("NFKC", text or "")
    if not text.strip():
        return found
    for m in _tokenizer().tokenize(text[:20000]):
        pos = m.part_of_speech()
        if pos[1] == "固有名詞" and pos[2] == "人名" and m.surface() not in found:
            found.append(m.surface())
    return found


def phone_like(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).strip() for m in _PHONE_LIKE.finditer(text or "")))


def warnings(text: str) -> list[str]:
    out = []
    names = person_names(text)
    if names:
        out.append("個人名と思われる語が含まれています（" + "、".join(names[:5]) + "）。"
                   "すべての相談者に表示されるため、担当課名などに置き換えてください。")
    phones = phone_like(text)
    if phones:
        out.append("電話番号・内線番号と思われる記載があります（" + "、".join(phones[:3]) + "）。"
                   "公開してよい代表番号でなければ削除してください。")
    return out
