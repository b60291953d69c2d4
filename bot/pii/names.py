"""People's names: GiNZA (``ja-ginza``, a spaCy pipeline with its weights on PyPI) finds
``Person`` entities; a name before an honorific (山田様, 佐藤さん, 鈴木氏) is a name when Sudachi's
tag (carried by GiNZA's tokens) says 人名 or the model says Person. Programme, place and
organisation names are not people: a candidate inside a known place / programme term, or followed
by an organisation suffix (市, 振興局, 協力隊, 会議 …), is dropped.

The model is loaded once per process, lazily, under a lock (``load_model``); calls into it are
serialised too (GiNZA's Sudachi tokenizer is not thread-safe)."""

from __future__ import annotations

import functools
import logging
import re
import threading

from bot.pii.spans import NAME, Span

log = logging.getLogger(__name__)
MODEL = "ja_ginza"
# only what names need: the tokenizer (Sudachi tags), tok2vec and the entity recogniser
_EXCLUDE = ("parser", "compound_splitter", "bunsetu_recognizer", "morphologizer")
_load_lock = threading.Lock()
_call_lock = threading.Lock()
_model = None

HONORIFICS = ("様", "さま", "さん", "氏", "殿", "くん", "君", "ちゃん", "先生")
_HONORIFIC = re.compile("|".join(HONORIFICS))
# A name is never directly followed by these (then it names a place, an office or a body).
_ORG_AFTER = re.compile(
    r"(?:市|町|村|区|郡|道|県|府|局|課|係|室|部|庁|署|隊|会|団|組合|協議会|センター|大学|高校|"
    r"小学校|中学校|病院|銀行|株式会社|商店|ホール|駅|港|川|山|岳|湖|線|地区|地域|管内|方面|"
    r"振興|総合|事業|交付金|制度|計画|戦略|ジャーナル|ファンド|基金|賞|杯)")
# Words before an honorific that are roles, not names (担当者様, 皆様, 協力隊さん, 市長さん).
_NOT_NAMES = frozenset("""
皆 皆さん お客 客 担当 担当者 職員 市長 町長 村長 知事 局長 課長 係長 部長 室長 主査 主任 隊員 協力隊
先方 相手 住民 利用者 申請者 事業者 お子 子供 奥 旦那 皆々 業者 委員 議員 講師 先輩 後輩 上司 同僚
事務局 役場 役所 応募者 参加者 関係者 代表者 責任者 各位 神 仏 王 お疲れ お世話 ご苦労 どちら どなた
""".split())


def load_model():
    """The GiNZA pipeline, loaded at most once per process (first caller pays ~3 s)."""
    global _model
    if _model is None:
        with _load_lock:
            if _model is None:
                import spacy

                _model = spacy.load(MODEL, exclude=list(_EXCLUDE))
                log.info("PII guard: %s loaded", MODEL)
    return _model


@functools.lru_cache(maxsize=1)
def known_terms() -> tuple[str, ...]:
    """Names that are places, programmes or bodies (never people): the bundled municipality
    directory (names, readings, 郡, 振興局) and the programmes of the knowledge base."""
    from bot.directory import MunicipalityDirectory

    d = MunicipalityDirectory.bundled()
    terms = set(PROGRAMMES)
    for m in d:
        terms.update({m.name, m.reading} | ({m.district} if m.district else set()))
    for sp in d.subprefectures:
        terms.update({sp.name, sp.short})
    return tuple(sorted((t for t in terms if len(t) >= 2), key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def place_stems() -> frozenset[str]:
    """Municipality names without 市・町・村 (池田, 清水, 中川): also common surnames, so a name
    only with an honorific or when the tagger reads it as 人名."""
    from bot.directory import MunicipalityDirectory

    return frozenset(m.name[:-1] for m in MunicipalityDirectory.bundled() if len(m.name) >= 3)


PROGRAMMES = (
    "地域おこし協力隊", "地域づくり総合交付金", "地域政策推進事業費", "地方創生", "ふるさと納税",
    "特定地域づくり事業協同組合", "地域振興派遣", "北海道創生ジャーナル", "ほっかいどう応援団会議",
    "北海道総合戦略", "市町村総合戦略", "企業版ふるさと納税", "地域活性化起業人", "集落支援員",
    "地域プロジェクトマネージャー", "デジタル田園都市国家構想", "振興局", "総合振興局", "北海道",
    "道庁", "本庁", "北海道庁", "総務省", "内閣府", "地域力創造アドバイザー", "移住コンシェルジュ",
)


def _inside_known(text: str, start: int, end: int) -> bool:
    for term in known_terms():
        i = text.find(term, max(0, start - len(term)), end + len(term))
        while i != -1 and i < end:
            if i <= start and i + len(term) >= end:
                return True
            i = text.find(term, i + 1, end + len(term))
    return False


def _plausible(text: str, start: int, end: int, person_tagged: bool = False) -> bool:
    word = text[start:end]
    if len(word.strip()) < 2 and not re.fullmatch(r"[一-龥々]", word):
        return False
    if not re.search(r"[ぁ-んァ-ヺ一-龥々]", word):    # markup, code, ASCII words are not names here
        return False
    if word in _NOT_NAMES or re.search(r"[0-9〔〕［］@]", word):
        return False
    honorific = bool(_HONORIFIC.match(text, end))
    if _ORG_AFTER.match(text, end) and not honorific:
        return False
    if word in place_stems():
        return honorific or person_tagged
    return not _inside_known(text, start, end)


# Tokens either side of a candidate the model reads. The model's cost grows with the tokens it
# reads (tok2vec: width 256, 8 maxout layers of window 1), so it reads only short windows around
# the candidates, not the whole message (bench/pii.py: recall and false positives unchanged).
WINDOW = 4


def _candidate_windows(doc, window: int | None = WINDOW) -> list[tuple[int, int]]:
    """Token ranges [start, end) around each name candidate (a word Sudachi tags 人名, or an
    honorific), overlapping ranges merged; empty when nothing in ``doc`` could be a name.
    ``window=None``: the whole message (the former behaviour, kept for bench/pii.py)."""
    ranges: list[list[int]] = []
    for tok in doc:
        if "人名" in tok.tag_ or tok.text in HONORIFICS:
            if window is None:
                return [(0, len(doc))]
            start, end = max(0, tok.i - window), min(len(doc), tok.i + window + 1)
            if ranges and start <= ranges[-1][1]:
                ranges[-1][1] = max(ranges[-1][1], end)
            else:
                ranges.append([start, end])
    return [(s, e) for s, e in ranges]


def _entities(nlp, doc, ranges) -> list[tuple[int, int, str]]:
    """(start_char, end_char, label) of the model's entities, read window by window on the
    already tokenized ``doc`` (no second tokenization; offsets shifted back to ``doc``)."""
    subs = [doc[s:e].as_doc() for s, e in ranges]
    for _, proc in nlp.pipeline:           # all windows in one batch: one pass over the weights
        subs = list(proc.pipe(subs, batch_size=len(subs)))
    found = []
    for (s, _), sub in zip(ranges, subs):
        shift = doc[s].idx
        found += [(ent.start_char + shift, ent.end_char + shift, ent.label_) for ent in sub.ents]
    return found


def names(text: str, nlp=None, window: int | None = WINDOW) -> list[Span]:
    nlp = nlp or load_model()
    with _call_lock:
        doc = nlp.tokenizer(text)
        ranges = _candidate_windows(doc, window)
        if not ranges:
            return []
        ents = _entities(nlp, doc, ranges)
    out: list[Span] = []
    person_chars = {i for tok in doc if "人名" in tok.tag_
                    for i in range(tok.idx, tok.idx + len(tok.text))}
    for start, end, label in ents:
        for h in HONORIFICS:                   # 「高橋様」: the honorific stays readable
            if text.endswith(h, start, end) and end - len(h) > start:
                end -= len(h)
                break
        tagged = all(i in person_chars for i in range(start, end))
        if label == "Person" and _plausible(text, start, end, tagged):
            out.append(Span(start, end, NAME))
    tokens = list(doc)
    for i, tok in enumerate(tokens):
        if tok.text not in HONORIFICS or i == 0:
            continue
        j = i
        while j > 0 and "人名" in tokens[j - 1].tag_:
            j -= 1
        if j == i:       # no 人名 token before: a katakana / unknown name the model called Person
            continue
        start, end = tokens[j].idx, tok.idx
        if _plausible(text, start, end, True):
            out.append(Span(start, end, NAME))
    return out
