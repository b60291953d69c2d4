"""Conversation evaluation shared by `consult eval --conversations` and `bench/retrieval.py`.

A conversations file holds one conversation per line:

    {"id": "t01", "turns": [{"question": "...", "expected_text": "..."},
                            {"question": "...", "declined": true}, ...]}

`expected_text` is a string or a list of strings (any of them). Each turn is answered by the
real `Answerer` with the conversation's earlier turns as history, exactly as a Slack thread or
the console chat would. A turn is right when the answer's FIRST cited passage holds the expected
text (NFKC, whitespace ignored), or, for `"declined": true`, when the answer declined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from bot.answering.evaluation import QAFileError, norm
from bot.domain import Answer, HistoryTurn


@dataclass(frozen=True)
class Turn:
    question: str
    expected_text: tuple[str, ...] = ()
    declined: bool = False


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]


@dataclass
class TurnOutcome:
    conversation: str
    index: int                      # 1-based turn number in its conversation
    question: str
    right: bool
    expected: str                   # "decline" or the expected text(s)
    got: str                        # "declined" or the first cited passage's section / text head
    standalone_question: str | None = None


@dataclass
class ConversationReport:
    conversations: int
    turns: int
    right: int
    outcomes: list[TurnOutcome] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.turns if self.turns else 0.0

    @property
    def misses(self) -> list[TurnOutcome]:
        return [o for o in self.outcomes if not o.right]

    def as_dict(self) -> dict:
        return {"conversations": self.conversations, "turns": self.turns, "right": self.right,
                "accuracy": round(self.accuracy, 4),
                "misses": [o.__dict__ for o in self.misses]}


def load_conversations(path: Path) -> list[Dialogue]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise QAFileError(f"評価ファイルを読み込めませんでした: {path} ({exc.strerror})") from exc
    out: list[Dialogue] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise QAFileError(f"{path}:{no}: JSON として読めません ({exc.msg})") from exc
        turns = obj.get("turns") if isinstance(obj, dict) else None
        if not isinstance(turns, list) or not turns:
            raise QAFileError(f"{path}:{no}: \"turns\"（質問のリスト）がありません")
        parsed = []
        for t in turns:
            if not isinstance(t, dict) or not str(t.get("question", "")).strip():
                raise QAFileError(f"{path}:{no}: \"question\" のないターンがあります")
            expected = t.get("expected_text")
            expected = (expected,) if isinstance(expected, str) else tuple(expected or ())
            declined = bool(t.get("declined"))
            if not expected and not declined:
                raise QAFileError(f"{path}:{no}: 各ターンに \"expected_text\" か \"declined\": true が必要です")
            parsed.append(Turn(t["question"], expected, declined))
        out.append(Dialogue(str(obj.get("id") or f"line{no}"), tuple(parsed)))
    if not out:
        raise QAFileError(f"{path}: 評価用の会話が1件もありません")
    return out


def judge(turn: Turn, answer: Answer) -> tuple[bool, str]:
    """(right?, what the answer did, in a few words)."""
    if not answer.answered or not answer.sources:
        return turn.declined, "declined"
    first = answer.sources[0]
    got = f"{first.section or first.source}: {first.text[:40]}"
    if turn.declined:
        return False, got
    hay = norm(f"{first.section}\n{first.text}")
    return any(norm(e) in hay for e in turn.expected_text), got


def run_conversations(dialogues: Sequence[Dialogue], answerer) -> ConversationReport:
    """Answer every turn with the earlier turns of its conversation as history."""
    report = ConversationReport(conversations=len(dialogues), turns=0, right=0)
    for dialogue in dialogues:
        history: list[HistoryTurn] = []
        for i, turn in enumerate(dialogue.turns, start=1):
            answer = answerer.answer(turn.question, history)
            right, got = judge(turn, answer)
            report.turns += 1
            report.right += int(right)
            report.outcomes.append(TurnOutcome(
                conversation=dialogue.id, index=i, question=turn.question, right=right,
                expected="decline" if turn.declined else " | ".join(turn.expected_text),
                got=got, standalone_question=answer.standalone_question))
            history.append(_history_turn(turn.question, answer))
    return report


def _history_turn(question: str, answer: Answer) -> HistoryTurn:
    try:
        return HistoryTurn(question=question, answer=answer.text, answered=answer.answered)
    except TypeError:  # an older HistoryTurn without the answered flag
        return HistoryTurn(question=question, answer=answer.text)
