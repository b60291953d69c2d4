"""A small, fully known set of consultations for the queue / search / statistics / export tests
(and the console's page tests), written through the real case store with a controlled clock.

Timeline (JST): Monday 2026-11-02 09:00 onwards; 2026-11-03 is a national holiday (文化の日).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.cases.store import CaseStore
from bot.domain import Answer, Conversation, Passage, Requester

JST = timezone(timedelta(hours=9))
START = datetime(2026, 11, 2, 9, 0, tzinfo=JST)

SECTION_KYORYOKUTAI = "VI 市町村戦略支援 > 2 人的支援 > (3) 地域おこし協力隊"
SECTION_KOUFUKIN = "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金"
SECTION_DX = "VI 市町村戦略支援 > 2 人的支援 > (1) DX人材の派遣"


class Clock:
    def __init__(self, start: datetime = START):
        self.now = start.astimezone(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when.astimezone(timezone.utc)


def answer(text: str, section: str | None, *, answered: bool = True) -> Answer:
    sources = []
    if section:
        sources = [Passage(chunk_id=f"c-{abs(hash(section))}", text=text, source="strategy/s.md",
                           title="北海道総合戦略", section=section, page=None,
                           doc_type="strategy", score=0.9)]
    return Answer(text=text + (" [1]" if sources else ""), answered=answered,
                  mode="extractive" if answered else "none", sources=sources, evidence=0.8,
                  latency_ms=120)


DECLINE = "申し訳ありません。資料には該当する記載が見つかりませんでした。"


@dataclass
class Seeded:
    store: CaseStore
    clock: Clock
    ids: dict[str, int] = field(default_factory=dict)
    turns: dict[str, int] = field(default_factory=dict)


def ask(store: CaseStore, key: str, question: str, reply: Answer, *, user: str = "U100",
        name: str = "札幌 花子", municipality: str | None = None) -> tuple[int, int]:
    conv = Conversation(kind="slack", workspace="T1", channel="C100", thread_ts=key)
    begun = store.begin_turn(conv, Requester(user, name), question, municipality=municipality)
    case = store.complete_turn(begun.turn_id, reply)
    return case.id, begun.turn_id


def seed(store: CaseStore, clock: Clock, *, extra_answered: int = 0) -> Seeded:
    """Five hand-made cases (keys k1…k5) plus ``extra_answered`` plain answered ones."""
    out = Seeded(store, clock)

    def add(key, question, reply, **kw):
        out.ids[key], out.turns[key] = ask(store, key, question, reply, **kw)
        clock.advance(minutes=10)

    # k1: answered by the bot, 👍 — the answer mentions 移住定住促進 (not in the question)
    add("k1", "地域おこし協力隊の定住支援について教えてください",
        answer("任期終了後の移住定住促進のため、起業・就業の支援があります。", SECTION_KYORYOKUTAI),
        municipality="旭川市")
    store.record_feedback(out.turns["k1"], user_id="U100", value="up")
    # k2: declined -> needs_staff (not_answered)
    add("k2", "ふるさと納税の返礼品の基準は？", answer(DECLINE, None, answered=False),
        user="U200", name="旭川 太郎", municipality="札幌市")
    # k3: answered, 👎 with a comment -> needs_staff, then taken and replied by staff
    add("k3", "地域づくり総合交付金の申請期限はいつですか",
        answer("申請は各振興局が定める期限までに行います。", SECTION_KOUFUKIN), municipality="函館市")
    clock.advance(minutes=5)
    store.record_feedback(out.turns["k3"], user_id="U100", value="down",
                          comment="具体的な日付が知りたい")
    clock.advance(hours=1)
    store.assign(out.ids["k3"], "U_STAFF1")
    clock.advance(hours=1)
    store.add_staff_reply(out.ids["k3"], "今年度は 5 月末が期限です。", actor="U_STAFF1")
    # k4: answered; the officer asks for a person; staff take it and resolve it
    add("k4", "DX人材の派遣を受けたいのですが手続きは？",
        answer("北海道 DX 推進アドバイザーの派遣制度があります。", SECTION_DX), municipality="函館市")
    store.escalate(out.ids["k4"], actor="U100")
    clock.advance(hours=2)
    store.assign(out.ids["k4"], "U_STAFF2")
    clock.advance(hours=3)
    store.resolve(out.ids["k4"], actor="U_STAFF2")
    # k5: a short question, declined, no municipality
    add("k5", "除雪費の補助はありますか", answer(DECLINE, None, answered=False), user="U300",
        name=None)
    for i in range(extra_answered):
        add(f"x{i}", f"交付金の対象経費について質問 {i} 番", answer("対象経費は要綱で定めています。",
                                                            SECTION_KOUFUKIN), municipality="旭川市")
    return out
