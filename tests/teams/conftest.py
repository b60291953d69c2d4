"""Shared pieces of the teams tests: a small teams file (宗谷, 十勝, 本庁 市町村課 for ふるさと納税
first, 本庁 地域政策課 as administrators and default) and case helpers on the real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import Answer, Conversation, Passage, Requester

SOYA_CH, TOKACHI_CH, FURUSATO_CH, HONCHO_CH = "C0SOYA", "C0TOKACHI", "C0FURUSATO", "C0HONCHO"
SOYA_STAFF, TOKACHI_STAFF, FURUSATO_STAFF, ADMIN = "U0SOYA", "U0TOKACHI", "U0FURUSATO", "U0ADMIN"
SOYA_MEMBER = "U0SOYAMEMBER"      # staff of 宗谷 by membership of its channel only
OUTSIDER = "W0OUTSIDE"
OFFICER = "W0OFFICER"

TEAMS_YAML = f"""\
# テスト用のチーム
teams:
  - id: soya
    name: 宗谷総合振興局 地域創生課
    channel: {SOYA_CH}
    users: [{SOYA_STAFF}]
    subprefectures: [宗谷]
  - id: tokachi
    name: 十勝総合振興局 地域創生課
    channel: {TOKACHI_CH}
    users: [{TOKACHI_STAFF}]
    subprefectures: [十勝総合振興局]
  - id: furusato
    name: 本庁 市町村課
    channel: {FURUSATO_CH}
    users: [{FURUSATO_STAFF}]
    programmes: [ふるさと納税]
    programme_first: true
  - id: honcho
    name: 本庁 地域政策課
    channel: {HONCHO_CH}
    users: [{ADMIN}]
    administrators: true
    default: true
"""


@pytest.fixture
def teams_file(tmp_path) -> Path:
    path = tmp_path / "teams.yml"
    path.write_text(TEAMS_YAML, encoding="utf-8")
    return path


def passage(section: str, title: str = "北海道総合戦略") -> Passage:
    return Passage(chunk_id=f"c-{section}", text="本文", source="strategy/s.md", title=title,
                   section=section, page=None, doc_type="strategy", score=0.9)


FURUSATO = "VI 市町村戦略支援 > 1 財政的支援 > (4) ふるさと納税の活用に向けた支援"
KOUFUKIN = "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金"


def add_case(store, municipality: str | None, *, section: str | None = KOUFUKIN,
             answered: bool = True, thread: str = "1.0", channel: str = "C0OFFICE",
             kind: str = "slack"):
    """An officer's consultation (answered with a source in ``section``, or declined)."""
    sources = [passage(section)] if (answered and section) else []
    answer = Answer(text="回答です [1]。" if answered else "資料には見当たりませんでした。",
                    answered=answered, mode="extractive", sources=sources,
                    evidence=0.8 if answered else 0.1)
    conv = Conversation(kind=kind, workspace="T111", channel=channel, thread_ts=thread)
    case, _ = store.add_turn(conv, Requester(OFFICER, "相談 太郎", municipality), "質問です", answer)
    return case
