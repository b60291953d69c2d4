"""Does a question depend on the conversation, and which earlier turn does it lean on?

Officers ask in threads: 「その窓口は隊員本人も使えますか」 needs the earlier question about 協力隊,
「明日の札幌の天気を教えてください」 does not, and must be judged on its own. The decision is made
per turn from the question's own words, read with the project's tokenizer (Sudachi):

- an explicit switch (「話は変わりますが」「別件ですが」「ところで」) -> standalone;
- a demonstrative of the こ・そ・あ series (その, それ, あの, ここ …; Sudachi tags them 代名詞 /
  連体詞) or a back-reference (さっき, 先ほど, 上記, 同じ) -> follow-up;
- no topic word of its own (only facets such as 対象, 締切, 窓口, 費用 and words every question of
  this domain has, such as 道, 市町村, 支援) -> follow-up (ellipsis);
- 「Xも…」「Xについても」 (an addition to what was asked), 「Xはどうですか」「Xの場合は？」 (the same
  question for X), or a question opening with a continuation (では, あと, ちなみに, それから) ->
  follow-up;
- otherwise its own topic words make it standalone.

A follow-up leans on one earlier turn (its *referent*): the latest turn that shares a topic word
with it (「さっきの組合の話ですが」 returns to the 組合 turn), else the latest answered turn. A
declined turn (out of scope) is never a referent, and a follow-up's own referent is inherited, so
「それは何という制度ですか」 after two follow-ups still leans on the question that named the topic.
The retrieval text of a follow-up is the referent's question, then the new question.

Pure functions over (question, history): no index, no model. `terms()` also gives the answerer
the question's key terms (what it asks about) for the honest coverage check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Sequence

from bot.domain import HistoryTurn

# Words (normalised, kana folded) that every question of this domain contains: they name no
# topic. Kept short on purpose; everything else is read from Sudachi's parts of speech.
DOMAIN_WORDS = frozenset("""
道 北海道 道庁 市町村 市 町 村 役場 自治体 振興局 支援 制度 事業 取組 取り組み 取りくみ 地域 職員 相談
施策 仕組み 仕組 メニュー うち 我が まち 当 本 今回 方 人 者 関係 話 件 質問 資料 記載 教え 振興
づくり 作り こと 事 もの 物 ため 為 よう 様 際 時 失礼 別件 因み ちなみ
""".split())

# Facets: items that can be asked about any programme (「締切はいつですか」「費用は？」). A question
# made of facets only has no topic of its own; a facet the cited passages do not mention is named
# in the answer's note (`coverage`), but does not decline the question on its own.
FACET_WORDS = frozenset("""
対象 対象者 補助 率 締切 締め切り 期限 期間 期日 時期 日程 日時 予定 金額 費用 経費 負担 上限 上限額 補助率 割合
申請 申し込み 申込み 申込 手続き 手続 要件 条件 資格 書類 様式 申請書 書き方 連絡先 問い合わせ 問合せ
担当 窓口 予算 範囲 名前 名称 場所 会場 相談先 根拠 基準 実績 次回 開催日
""".split())

# Vague words: they neither name a topic nor an item the answer must contain.
VAGUE_WORDS = frozenset("""
方法 やり方 内容 詳細 概要 目的 メリット デメリット 違い 例 具体 具体的 誰 利用 活用 参加 紹介 確認 説明
流れ 段階 効果 状況 必要 可能 最新 今後 ほか 他 別 連絡 先 自分 自身 考え方 考え 意味 定義 特徴 ポイント
全体 一般 基本 場合 場 機会 きっかけ 切っ掛け 理由 原因 結果 影響 関係 違う 同士
""".split())

_SWITCH = re.compile(r"話は変わ|話が変わ|話題を変え|別件|別の話|別の質問|別のこと|ところで|全然違う|関係ない(?:の|ん|です|けど)")
_CONTINUATION = re.compile(r"^(?:では|じゃあ|じゃ|それでは|それなら|なら|あと|それから|それと|ちなみに|"
                           r"また|さらに|加えて|ついでに|続けて|もう一つ|もうひとつ|ほかに|他に|その他|"
                           r"追加で|念のため)(?:[、,，]|\s|$)?")
_PARALLEL = re.compile(r"(?:のほう|の方|の場合|について|では|だと)?は(?:どう|いかが)(?:です|でしょう|なん|だ)?(?:か|ですか)?[？?]*$|"
                       r"(?:のほう|の方|の場合)は[？?]*$")
_BACK_REFERENCE = frozenset("さっき 先ほど 先程 さきほど 前述 上記 同じ 同様 当該 例 前回 最初".split())
_KO_SO_A = ("こ", "そ", "あ", "此", "其", "彼")
# A question without topic words is elliptic when it is this short or asks for a facet
# (「対象は市町村だけですか？」「申請書の書き方まで見てもらえますか？」); a longer one stands alone
# (「道はどんな考え方で市町村を支援しているのですか？」).
SHORT_QUESTION_CHARS = 16
_NOT_DEMONSTRATIVE = frozenset({"ある", "あらゆる", "あくる", "いわゆる", "あの手この手"})


@dataclass(frozen=True)
class Terms:
    """What one question says about itself."""

    topic_words: tuple[str, ...]     # normalised nouns that name a topic (no facets, no domain words)
    key_terms: tuple[str, ...]       # surface units the answer must be about: topics + facets
    anaphoric: bool                  # こ・そ・あ demonstrative or back-reference
    additive: bool                   # 「Xも」「Xについても」
    parallel: bool                   # 「Xはどうですか」「Xの場合は？」
    continuation: bool               # opens with では / あと / ちなみに …
    switch: bool                     # 「話は変わりますが」 …


Kind = Literal["standalone", "follow_up"]


@dataclass(frozen=True)
class Decision:
    kind: Kind
    reason: str            # first | switch | anaphora | ellipsis | additive | parallel | continuation | own_topic
    context: str = ""      # the referent's question (follow-ups), prepended for retrieval
    referent: int | None = None   # index of the referent turn in the history
    # A question with topic words of its own that the documents do not cover alone may still
    # lean on the conversation (「応募が集まらない時は？」 after a question about 協力隊): the
    # answerer retries it with this context and then requires every topic term to be covered.
    fallback_context: str = ""

    @property
    def follow_up(self) -> bool:
        return self.kind == "follow_up"

    def retrieval_text(self, question: str) -> str:
        return f"{self.context}\n{question}" if self.follow_up and self.context else question


# Masked personal data (〔電話番号〕, 〔個人番号〕 …, see bot/pii) is no part of the topic.
_MASK = re.compile(r"〔[^〕]{1,8}〕|［[^］]{1,20}］")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", _MASK.sub(" ", text or "")).strip()


def _is_noun(pos: tuple[str, ...]) -> bool:
    return pos[0] == "名詞" and pos[1] in ("普通名詞", "固有名詞") and pos[2] != "助数詞可能"


def _is_demonstrative(surface: str, pos: tuple[str, ...]) -> bool:
    """こ・そ・あ pronouns and adnominals (それ, ここ, その, あの, そういった …); ど- words ask."""
    if pos[0] in ("代名詞", "連体詞") and surface not in _NOT_DEMONSTRATIVE:
        return surface.startswith(_KO_SO_A)
    return False


def _plain(form: str) -> bool:
    """A single kana or an ASCII symbol says nothing."""
    return len(form) == 1 and not ("\u4e00" <= form <= "\u9fff")


@lru_cache(maxsize=2048)
def terms(question: str) -> Terms:
    from ingest.tokenizer import morphemes

    text = _norm(question)
    # The opener (「ちなみに、」「話は変わりますが、」) is a signal, not part of the topic.
    body = _CONTINUATION.sub("", text, count=1)
    switch = _SWITCH.search(body)
    if switch and switch.start() < 12:
        cut = re.search(r"[、,，。]", body[switch.end():])
        body = body[switch.end() + cut.end():] if cut else body
    tokens = morphemes(body)
    topic: list[str] = []
    anaphoric = False
    additive = False
    for i, m in enumerate(tokens):
        if _is_demonstrative(m.surface, m.pos) or m.surface in _BACK_REFERENCE:
            anaphoric = True
        if m.surface in ("こう", "そう", "ああ") and m.pos[0] == "副詞" and i + 1 < len(tokens) \
                and tokens[i + 1].form == "言う":
            anaphoric = True  # こういう / そういった
        if m.surface == "も" and m.pos[0] == "助詞" and i > 0:
            prev = tokens[i - 1]
            if prev.pos[0] in ("名詞", "代名詞") or prev.surface in ("て", "で", "に", "と"):
                additive = True
        if not _is_noun(m.pos) or _plain(m.form):
            continue
        if {m.form, m.surface} & (DOMAIN_WORDS | FACET_WORDS | VAGUE_WORDS | _BACK_REFERENCE):
            continue
        if m.pos[2] == "副詞可能" and m.surface not in ("明日", "今週末", "来週", "来年度"):
            continue
        topic.append(m.form)
    return Terms(
        topic_words=tuple(dict.fromkeys(topic)),
        key_terms=tuple(dict.fromkeys(key_units(body))),
        anaphoric=anaphoric,
        additive=additive,
        parallel=bool(_PARALLEL.search(text)),
        continuation=bool(_CONTINUATION.match(text)),
        switch=bool(_SWITCH.search(text)),
    )


def key_units(text: str) -> list[str]:
    """The question's content nouns as whole compounds (Sudachi mode C): 「国民健康保険税の税率
    改定の手続き」 -> 国民健康保険税, 税率, 改定, 手続き. Domain and vague words are left out."""
    from ingest.tokenizer import morphemes

    out = []
    for m in morphemes(text, compounds=True):
        if not _is_noun(m.pos) or _plain(m.form):
            continue
        if {m.form, m.surface} & (DOMAIN_WORDS | VAGUE_WORDS | _BACK_REFERENCE):
            continue
        if m.pos[2] == "副詞可能" and m.surface not in FACET_WORDS:
            continue
        out.append(m.surface)
    return out


_JOINING = (("形状詞",), ("接尾辞", "形状詞的"), ("接頭辞",))


def phrases(text: str) -> list[str]:
    """Noun phrases Sudachi leaves in parts (mode C): 「人的支援」「情報支援」「財政的支援」
    「デジタル人材」 — runs of nouns (with 形状詞, 的, prefixes) of two or more units, kept when a
    unit names something (not only domain, facet or vague words). Headings are written this way
    (「3 人的支援」), so the rescoring looks for the whole phrase too."""
    from ingest.tokenizer import morphemes

    out, run = [], []

    def flush():
        nouns = [m for m in run if m.pos[0] == "名詞"]
        if len(run) >= 2 and nouns and run[-1].pos[0] == "名詞" and any(
                {m.form, m.surface}.isdisjoint(DOMAIN_WORDS | FACET_WORDS | VAGUE_WORDS)
                and not _plain(m.form) for m in run if m.pos[0] != "接尾辞"):
            out.append("".join(m.surface for m in run))
        run.clear()

    for m in morphemes(_norm(text), compounds=True):
        if (_is_noun(m.pos) and m.pos[2] != "副詞可能") or any(m.pos[: len(j)] == j for j in _JOINING):
            run.append(m)
        else:
            flush()
    flush()
    return list(dict.fromkeys(out))


def is_facet(term: str) -> bool:
    return term in FACET_WORDS


def decide(question: str, history: Sequence[HistoryTurn]) -> Decision:
    """Standalone or follow-up, and the context a follow-up needs (see the module docstring)."""
    referents = _referents(history)
    t = terms(question)
    if not any(r is not None for r in referents):
        return Decision("standalone", "first")
    if t.switch:
        return Decision("standalone", "switch")
    if t.anaphoric:
        reason = "anaphora"
    elif not t.topic_words and (t.key_terms or len(question.strip()) <= SHORT_QUESTION_CHARS):
        reason = "ellipsis"
    elif t.additive:
        reason = "additive"
    elif t.parallel:
        reason = "parallel"
    elif t.continuation:
        reason = "continuation"
    else:
        index = _pick_referent(t, history, referents)
        return Decision("standalone", "own_topic",
                        fallback_context=history[index].question if index is not None else "")
    index = _pick_referent(t, history, referents)
    if index is None:
        return Decision("standalone", reason)
    return Decision("follow_up", reason, context=history[index].question, referent=index)


def _answered(turn: HistoryTurn) -> bool:
    return bool(getattr(turn, "answered", True))


def _referents(history: Sequence[HistoryTurn]) -> list[int | None]:
    """For every history turn, the index of the turn that carries its topic: itself when it
    stood alone or brought a topic word its referent did not have (「では協力隊の募集についても」
    after a question about DX), its own referent when it was a follow-up, None when declined."""
    out: list[int | None] = []
    for i, turn in enumerate(history):
        if not _answered(turn):
            out.append(None)
            continue
        earlier = history[:i]
        if not any(r is not None for r in out):
            out.append(i)
            continue
        t = terms(turn.question)
        if _stands_alone(turn.question, t):
            out.append(i)
            continue
        ref = _pick_referent(t, earlier, out)
        if ref is not None and set(t.topic_words) - set(terms(history[ref].question).topic_words):
            ref = i  # a new topic, introduced as a continuation: it carries the topic from here
        out.append(i if ref is None else ref)
    return out


def _stands_alone(question: str, t: Terms) -> bool:
    if t.switch:
        return True
    elliptic = not t.topic_words and (t.key_terms or len(question.strip()) <= SHORT_QUESTION_CHARS)
    return not (t.anaphoric or elliptic or t.additive or t.parallel or t.continuation)


def _pick_referent(t: Terms, history: Sequence[HistoryTurn],
                   referents: Sequence[int | None]) -> int | None:
    """The latest answered turn sharing a topic word with the question (a return to an earlier
    topic), else the latest answered turn; resolved to the turn that named the topic."""
    own = set(t.topic_words)
    latest = None
    for i in range(len(history) - 1, -1, -1):
        ref = referents[i] if i < len(referents) else i
        if ref is None:
            continue
        if latest is None:
            latest = ref
        if own and own & set(terms(history[i].question).topic_words):
            return ref
    return latest
