"""Serialising cases for people and programs: the stable JSON object of ``--json`` / jsonl,
and the CSV export (one row per turn, Japanese headers, UTF-8 with BOM so Excel opens it)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Iterable

from bot.cases.views import STATUS_LABELS, CaseDetail, EventView, TurnView

JST = timezone(timedelta(hours=9), "JST")
# The stable keys of `consult cases list/show --json` (one object per case).
JSON_KEYS = ("ref", "status", "requester", "municipality", "title", "created_at", "updated_at",
             "assignee", "turns", "events")

CSV_HEADER = [
    "相談番号", "状態", "依頼者ID", "依頼者名", "市町村", "件名", "担当者", "事業",
    "相談開始日時", "最終更新日時", "質問日時", "質問", "回答", "ボット回答可否", "回答方式",
    "モデル", "プロンプト版", "根拠の強さ", "応答時間(ミリ秒)", "出典", "評価", "評価コメント",
    "職員回答数", "エラー",
]


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(timezone.utc).isoformat()


def local(ts: datetime | None) -> str:
    return "" if ts is None else ts.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def turn_json(t: TurnView) -> dict:
    return {
        "id": t.id, "created_at": iso(t.created_at), "completed_at": iso(t.completed_at),
        "question": t.question, "answer": t.answer, "answered": t.answered, "mode": t.mode,
        "model": t.model, "prompt_version": t.prompt_version, "sources": [dict(s) for s in t.sources],
        "evidence": t.evidence, "latency_ms": t.latency_ms, "fallback_reason": t.fallback_reason,
        "error": t.error, "pii_kinds": list(t.pii_kinds), "feedback": t.feedback,
        "feedback_comment": t.feedback_comment,
    }


def event_json(e: EventView) -> dict:
    return {"id": e.id, "kind": e.kind, "actor": e.actor, "from_status": e.from_status,
            "to_status": e.to_status, "text": e.text, "turn_id": e.turn_id,
            "created_at": iso(e.created_at)}


def case_json(d: CaseDetail, *, extended: bool = False) -> dict:
    c = d.case
    obj = {
        "ref": c.ref, "status": c.status,
        "requester": {"user_id": c.requester_id, "display_name": c.requester_name},
        "municipality": c.municipality, "title": c.title,
        "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
        "assignee": c.assignee,
        "turns": [turn_json(t) for t in d.turns],
        "events": [event_json(e) for e in d.events],
    }
    if extended:  # export jsonl: the stable keys plus reporting fields
        obj.update({
            "id": c.id, "programmes": list(c.programmes), "escalation_reason": c.escalation_reason,
            "conversation": {"kind": c.kind, "workspace": c.workspace, "channel": c.channel,
                             "thread_ts": c.thread_ts},
            "resolved_at": iso(c.resolved_at),
            "first_staff_response_at": iso(c.first_staff_response_at),
        })
    return obj


def dumps(obj: dict, *, indent: int | None = None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


def _sources_text(t: TurnView) -> str:
    parts = []
    for s in t.sources:
        label = " › ".join(x for x in (s.get("title"), s.get("section")) if x)
        if s.get("page"):
            label += f" (p.{s['page']})"
        parts.append(f"[{s.get('n')}] {label or s.get('source', '')}")
    return "\n".join(parts)


def csv_rows(details: Iterable[CaseDetail]) -> Iterable[list[str]]:
    for d in details:
        c = d.case
        staff_replies = sum(1 for e in d.events if e.kind == "staff_reply")
        head = [c.ref, STATUS_LABELS.get(c.status, c.status), c.requester_id,
                c.requester_name or "", c.municipality or "", c.title, c.assignee or "",
                "、".join(c.programmes), local(c.created_at), local(c.updated_at)]
        if not d.turns:
            yield head + [""] * 12 + [str(staff_replies), ""]
            continue
        for t in d.turns:
            answered = "" if t.answered is None else ("はい" if t.answered else "いいえ")
            feedback = {"up": "👍", "down": "👎"}.get(t.feedback or "", "")
            yield head + [
                local(t.created_at), t.question, t.answer or "", answered, t.mode or "",
                t.model or "", t.prompt_version or "",
                "" if t.evidence is None else f"{t.evidence:.3f}",
                "" if t.latency_ms is None else str(t.latency_ms), _sources_text(t), feedback,
                t.feedback_comment or "", str(staff_replies), t.error or "",
            ]


def csv_bytes(details: Iterable[CaseDetail]) -> bytes:
    """The whole CSV as UTF-8 with BOM (Excel-friendly), CRLF line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(details))
    return buf.getvalue().encode("utf-8-sig")


def jsonl_bytes(details: Iterable[CaseDetail]) -> bytes:
    return "".join(dumps(case_json(d, extended=True)) + "\n" for d in details).encode("utf-8")
