"""A small on-disk spool for turns that could not be written while the case database was down.

Records are JSON lines in ``<data_dir>/spool/pending_turns.jsonl`` (question already masked).
``replay(store)`` claims the file by an atomic rename (one replayer per data dir, also across
processes), writes each record, and puts back what still cannot be written. A record that the
database refuses for another reason goes to ``failed_turns.jsonl`` and is logged as an error:
nothing is dropped silently. Replays are idempotent: each record carries a dedupe key.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from dataclasses import asdict
from pathlib import Path

from bot.cases.db import describe_error
from bot.domain import Answer, Conversation, Passage, Requester
from bot.errors import CaseNotFound, StoreUnavailable

log = logging.getLogger(__name__)


def answer_to_dict(answer: Answer | None) -> dict | None:
    return None if answer is None else asdict(answer)


def turn_record(conversation: Conversation, requester: Requester, question: str,
                pii_kinds: list[str], dedupe_key: str | None, municipality: str | None,
                answer: Answer | None, error: str | None) -> dict:
    """A whole turn as one spool record (``op: add``)."""
    return {
        "op": "add", "conversation": asdict(conversation), "requester": asdict(requester),
        "question": question, "pii_kinds": list(pii_kinds),
        "dedupe_key": dedupe_key or f"spool:{uuid.uuid4()}", "municipality": municipality,
        "answer": answer_to_dict(answer), "error": error,
    }


def answer_from_dict(data: dict | None) -> Answer | None:
    if data is None:
        return None
    data = dict(data)
    data["sources"] = [Passage(**p) for p in data.get("sources") or []]
    return Answer(**data)


class Spool:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / "pending_turns.jsonl"
        self.failed_path = self.directory / "failed_turns.jsonl"
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings) -> "Spool":
        return cls(settings.data_dir / "spool")

    def has_pending(self) -> bool:
        return self.path.exists()

    def pending_count(self) -> int:
        if not self.path.exists():
            return 0
        with self.path.open(encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())

    def _append(self, path: Path, records: list[dict]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def add_complete(self, turn_id: int, answer: Answer | None, error: str | None, *,
                     turn: dict | None = None) -> None:
        """The turn row exists; only its answer is missing. ``turn`` (an ``add`` record, see
        ``turn_record``) lets the replay write the whole turn when the row is gone because the
        database was re-created empty."""
        record = {"op": "complete", "turn_id": turn_id, "answer": answer_to_dict(answer),
                  "error": error}
        if turn is not None:
            record["turn"] = turn
        self._append(self.path, [record])

    def add_turn(self, conversation: Conversation, requester: Requester, question: str,
                 pii_kinds: list[str], dedupe_key: str | None, municipality: str | None,
                 answer: Answer | None, error: str | None) -> None:
        """Nothing was written: the whole turn (and maybe its case) is missing."""
        self._append(self.path, [turn_record(conversation, requester, question, pii_kinds,
                                             dedupe_key, municipality, answer, error)])

    def replay(self, store) -> int:
        """Write spooled turns to ``store``; returns how many were written now."""
        if not self.path.exists():
            return 0
        claimed = self.directory / f"replaying.{os.getpid()}.{uuid.uuid4().hex}.jsonl"
        try:
            os.rename(self.path, claimed)
        except FileNotFoundError:
            return 0  # another thread or process took it
        records = []
        for line in claimed.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # e.g. a line cut short by a crash: keep it aside
                with self._lock, self.failed_path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
                log.error("unreadable spool line kept in %s", self.failed_path)
        written = 0
        for i, record in enumerate(records):
            try:
                self._apply(store, record)
                written += 1
            except StoreUnavailable:
                self._append(self.path, records[i:])
                log.warning("case database unavailable again: %d spooled turn(s) kept in %s",
                          len(records) - i, self.path)
                break
            except Exception as exc:  # refused for another reason: keep it aside, loudly
                self._append(self.failed_path, [record])
                log.error("spooled turn could not be written (%s); kept in %s",
                          describe_error(exc), self.failed_path)
        claimed.unlink()
        if written:
            log.warning("wrote %d spooled turn(s) to the case database", written)
        return written

    @staticmethod
    def _apply(store, record: dict) -> None:
        answer = answer_from_dict(record.get("answer"))
        if record["op"] == "complete":
            try:
                store.complete_turn(int(record["turn_id"]), answer, error=record.get("error"))
                return
            except CaseNotFound:
                if not record.get("turn"):
                    raise
                # the database was re-created empty: the begun turn is gone, write all of it
                record = {**record["turn"], "answer": record.get("answer"),
                          "error": record.get("error")}
        result = store.add_turn(
            Conversation(**record["conversation"]), Requester(**record["requester"]),
            record["question"], answer, pii_kinds=record.get("pii_kinds") or [],
            dedupe_key=record.get("dedupe_key"), municipality=record.get("municipality"),
            error=record.get("error"))
        if result is not None:
            log.info("spooled turn written as turn %s of %s", result[1], result[0].ref)
