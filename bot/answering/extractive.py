"""Extractive answers: quote the most relevant sentences (not whole chunks) of the top passages,
each followed by its [n] citation, under a label saying it is an excerpt, not a generated answer."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

from bot.answering.evidence import content_tokens
from bot.answering.fusion import shingles
from bot.domain import Passage

EXTRACTIVE_VERSION = "extractive@2026-11-28.2"
EXTRACTIVE_LABEL = "【資料からの抜粋】以下は登録資料の該当箇所をそのまま引用したもので、AI が生成した回答ではありません。"

_SENTENCE_END = re.compile(r"(?<=[。！？!?])|\n+")
_BULLET = re.compile(r"^\s*(?:[-・●○◆■□*]|\d+[.)．）])\s*")
# Sentences that address the assistant instead of the reader are never quoted.
_INJECTION = re.compile(
    r"(?:指示|命令|プロンプト|ルール).{0,12}(?:無視|忘れ|従わ|破棄|上書き)|"
    r"(?:無視|忘れ).{0,6}(?:指示|命令|プロンプト)|"
    r"ignore (?:all |the )?(?:previous|above|prior) |system prompt|you are now|"
    r"(?:あなた|アシスタント|AI)は.{0,10}(?:として振る舞|になりきっ|と名乗)",
    re.I,
)


_FAQ_Q = re.compile(r"^\s*(?:Q|Ｑ|問|質問)\s*[:：.．]")
_FAQ_A = re.compile(r"^\s*(?:A|Ａ|答|回答)\s*[:：.．]\s*")


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage. FAQ chunks ("Q: ...\nA: ...") contribute their answer only."""
    out = []
    for line in text.splitlines():
        if _FAQ_Q.match(line):
            continue
        line = _FAQ_A.sub("", line)
        for raw in _SENTENCE_END.split(line):
            s = _BULLET.sub("", raw or "").strip()
            if len(s) >= 6:
                out.append(s)
    return out


_META = re.compile(r"記載がありません|記載はありません|お問い合わせください")


def looks_like_instruction(sentence: str) -> bool:
    return bool(_INJECTION.search(unicodedata.normalize("NFKC", sentence)))


@dataclass(frozen=True)
class Quote:
    passage_index: int      # 0-based index into the passages given
    position: int           # sentence position inside the passage
    text: str
    score: float


def select_sentences(question: str, passages: Sequence[Passage], tokenize: Callable[[str], list[str]],
                     *, max_sentences: int = 3, max_passages: int = 3, per_passage: int = 2,
                     focus: str | None = None, duplicate_threshold: float = 0.6,
                     min_relative: float = 0.4, other_section_relative: float = 0.7,
                     key_terms: Sequence[str] | None = None) -> list[Quote]:
    """Score every sentence of the top passages by overlap with the question's content words
    (words of `focus`, the latest question of a follow-up, count double) and by passage rank.

    A sentence scoring below `min_relative` of the best one is not quoted beside it (a stray
    shared word is not evidence). Of two near-duplicate sentences (an FAQ row restating the
    document) the one from the earlier passage is quoted: the retriever puts the primary source
    first. The lead section is that of the first passage with a sentence scoring at least
    `other_section_relative` of the best. A sentence from another section (another programme)
    is quoted only when it scores that much too, and, given the question's `key_terms`, only
    when it mentions one of them (not a facet) that the quotes before it do not: it must answer
    a part of the question, not merely share a word with it."""
    q_tokens = set(content_tokens(tokenize(question)))
    focus_tokens = set(content_tokens(tokenize(focus))) if focus else set()
    candidates: list[Quote] = []
    for pi, passage in enumerate(passages[:max_passages]):
        for si, sentence in enumerate(split_sentences(passage.text)):
            if looks_like_instruction(sentence):
                continue
            toks = set(tokenize(sentence))
            overlap = sum(min(len(t), 4) for t in q_tokens & toks)
            overlap += sum(min(len(t), 4) for t in focus_tokens & toks)
            rank_bonus = 1.0 / (1 + pi)
            meta_penalty = 3.0 if _META.search(sentence) else 0.0  # "not in this document" notes
            candidates.append(Quote(pi, si, sentence, overlap + rank_bonus - 0.01 * si - meta_penalty))
    if not candidates:
        return []
    best = sorted(candidates, key=lambda q: -q.score)
    floor = max(1.0, min_relative * best[0].score)
    other_floor = max(floor, other_section_relative * best[0].score)
    # The lead section: of the passages with a sentence near the best one (a sentence another
    # section would need to be quoted at all), the one the retriever ranked first.
    lead_index = min(q.passage_index for q in best if q.score >= other_floor)
    lead_subject = subject_key(passages[lead_index])
    chosen: list[tuple[Quote, frozenset[str]]] = []
    if key_terms is not None:
        best = ([q for q in best if subject_key(passages[q.passage_index]) == lead_subject] +
                [q for q in best if subject_key(passages[q.passage_index]) != lead_subject])

    def passage_full(index: int) -> bool:
        return sum(1 for q, _ in chosen if q.passage_index == index) >= per_passage

    for quote in best:
        if len(chosen) >= max_sentences:
            break
        if chosen and quote.score < floor:
            if key_terms is None:
                break
            continue
        elsewhere = subject_key(passages[quote.passage_index]) != lead_subject
        if chosen and elsewhere and quote.score < other_floor:
            continue
        if elsewhere and key_terms is not None and not _adds_a_term(
                quote.text, [q.text for q, _ in chosen], key_terms, tokenize):
            continue
        sh = shingles(quote.text)
        twin = next((i for i, (_, other) in enumerate(chosen)
                     if containment(sh, other) >= duplicate_threshold), None)
        if twin is not None:
            # quoted once; the earlier passage's wording wins
            if quote.passage_index < chosen[twin][0].passage_index and not passage_full(quote.passage_index):
                chosen[twin] = (quote, sh)
            continue
        if passage_full(quote.passage_index):
            continue
        chosen.append((quote, sh))
    return sorted((q for q, _ in chosen), key=lambda q: (q.passage_index, q.position))


def _adds_a_term(sentence: str, quoted: Sequence[str], key_terms: Sequence[str],
                 tokenize: Callable[[str], list[str]]) -> bool:
    """Does `sentence` (from another section than the lead) answer a part of the question the
    quotes so far do not: a key term of the question (not a facet) it mentions and they do not?"""
    from bot.answering.followup import is_facet
    from bot.answering.rescoring import mentioned

    topics = [t for t in key_terms if not is_facet(t)]
    if not topics:
        return False
    new = mentioned(topics, sentence, tokenize) - mentioned(topics, "\n".join(quoted), tokenize)
    return bool(new)


def primary_first(quotes: list[Quote], passages: Sequence[Passage], question: str,
                  tokenize: Callable[[str], list[str]]) -> list[Quote]:
    """A quoted staff answer (an approved FAQ entry, ``Passage.external``) that names its basis
    (該当箇所) is preceded by that section's best sentence, when the retriever placed a chunk of it
    before the entry (``basis.py``) and nothing of it is quoted yet: the primary source is cited
    first, the staff answer after it."""
    from bot.answering.basis import in_basis_scope

    q_tokens = set(content_tokens(tokenize(question)))
    out = list(quotes)
    for quote in quotes:
        row = passages[quote.passage_index]
        if not (row.external and row.basis):
            continue
        quoted = {q.passage_index for q in out}
        for j in range(quote.passage_index - 1, -1, -1):
            doc = passages[j]
            if doc.doc_type == "faq" or not in_basis_scope(doc.section, row.basis, "sub"):
                continue
            if j in quoted:
                break
            sentences = [(si, s) for si, s in enumerate(split_sentences(doc.text))
                         if not looks_like_instruction(s)]
            if sentences:
                si, sentence = max(sentences, key=lambda it: (
                    sum(min(len(t), 4) for t in q_tokens & set(tokenize(it[1]))), -it[0]))
                out.append(Quote(j, si, sentence, 0.0))
            break
    return sorted(out, key=lambda q: (q.passage_index, q.position))


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller shingle set found in the other: 1.0 when one sentence is (nearly)
    contained in the other, as when an FAQ answer restates part of a document sentence."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def subject_key(passage: Passage) -> str:
    """The section a passage belongs to (an FAQ row: the section its 該当箇所 names)."""
    return passage.basis or passage.section


def subject_of(passage: Passage) -> str:
    """What a passage is about, as an officer would name it: the last heading of its section
    (「(3) 地域おこし協力隊へのサポート」); for an FAQ row, the section its 該当箇所 names."""
    path = passage.basis or passage.section
    name = path.split(" > ")[-1].strip() if path else ""
    if passage.external and not passage.basis:   # a staff answer: 「職員回答（相談#12 より・…）」
        return passage.title or name
    if passage.doc_type == "faq" and not passage.basis:
        return f"よくある質問（{name}）" if name else "よくある質問"
    return name or passage.title or passage.source


def lead_line(passage: Passage) -> str:
    return f"『{subject_of(passage)}』に次の記載があります。"


def render_extractive(quotes: Sequence[Quote], passages: Sequence[Passage] | None = None) -> str:
    """Label, what the answer is about (the first quote's section), then one quoted sentence per
    line with its [n] (n = passage_index + 1)."""
    lines = [EXTRACTIVE_LABEL, ""]
    if passages and quotes:
        lines.append(lead_line(passages[quotes[0].passage_index]))
    for quote in quotes:
        lines.append(f"・「{quote.text}」[{quote.passage_index + 1}]")
    return "\n".join(lines)
