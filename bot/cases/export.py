"""Serialising cases for people and programs: the stable JSON object of ``--json`` / jsonl,
and the spreadsheet export used by `consult cases export` and the console's エクスポート page:
CSV (UTF-8 with BOM so Excel opens it, CRLF) or XLSX (openpyxl), one row per turn
(``CSV_HEADER``) or one row per case (``CASE_HEADER``), Japanese headers, JST times.

Every spreadsheet cell, CSV and XLSX alike, goes through ``cell_value`` — the one place where a
value becomes a cell, and where formulas are neutralised (OWASP "CSV injection"): a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so
Excel / LibreOffice show it as text and never evaluate it. Decided exception: a value that is
entirely a plain number (``-3``, ``+1.5``) is left as it is — a spreadsheet reads it as a number,
never as a formula, and the product writes its own numbers unsigned anyway.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Literal

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
# One row per case: the case columns of CSV_HEADER, then the case's totals and staff times.
CASE_HEADER = CSV_HEADER[:10] + [
    "質問数", "ボットが回答できなかった質問数", "👍の数", "👎の数", "職員回答数", "対応が必要な理由",
    "職員対応が必要になった日時", "職員の初回回答日時", "解決日時", "最初の質問", "最後の回答",
]
Per = Literal["turn", "case"]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


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


FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def cell_value(value: Any) -> str:
    """The text of one spreadsheet cell (CSV and XLSX): None is empty, the rest as text; a text
    that a spreadsheet would read as a formula gets a leading apostrophe (see the module doc)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_LEADS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _case_head(c) -> list[str]:
    return [c.ref, STATUS_LABELS.get(c.status, c.status), c.requester_id,
            c.requester_name or "", c.municipality or "", c.title, c.assignee or "",
            "、".join(c.programmes), local(c.created_at), local(c.updated_at)]


def _staff_replies(d: CaseDetail) -> int:
    return sum(1 for e in d.events if e.kind == "staff_reply")


def case_rows(details: Iterable[CaseDetail]) -> Iterable[list[str]]:
    """One row per case (``CASE_HEADER``)."""
    from bot.cases.views import ESCALATION_LABELS

    for d in details:
        c = d.case
        reasons = [e.data.get("reason") for e in d.events
                   if e.kind == "escalated" and e.data and e.data.get("reason")]
        reason = c.escalation_reason or (reasons[-1] if reasons else None)
        last_answer = next((t.answer for t in reversed(d.turns) if t.answer), "")
        yield _case_head(c) + [
            str(len(d.turns)), str(sum(1 for t in d.turns if t.answered is False)),
            str(sum(1 for t in d.turns if t.feedback == "up")),
            str(sum(1 for t in d.turns if t.feedback == "down")), str(_staff_replies(d)),
            ESCALATION_LABELS.get(reason, reason or ""), local(c.escalated_at),
            local(c.first_staff_response_at), local(c.resolved_at),
            d.turns[0].question if d.turns else "", last_answer,
        ]


def csv_rows(details: Iterable[CaseDetail]) -> Iterable[list[str]]:
    """One row per turn (``CSV_HEADER``); a case without turns gets one row."""
    for d in details:
        c = d.case
        staff_replies = _staff_replies(d)
        head = _case_head(c)
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


def table(details: Iterable[CaseDetail], per: Per = "turn") -> Iterator[list[str]]:
    """The header, then the rows, every value already a cell (``cell_value``)."""
    if per not in ("turn", "case"):
        raise ValueError(f"per must be 'turn' or 'case', not {per!r}")
    yield [cell_value(v) for v in (CSV_HEADER if per == "turn" else CASE_HEADER)]
    for row in (csv_rows(details) if per == "turn" else case_rows(details)):
        yield [cell_value(v) for v in row]


def csv_chunks(details: Iterable[CaseDetail], per: Per = "turn") -> Iterator[bytes]:
    """The CSV as UTF-8 chunks (the first starts with the BOM), CRLF line ends: for streaming."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    first = True
    for n, row in enumerate(table(details, per), start=1):
        writer.writerow(row)
        if n % 200 == 0:
            yield buf.getvalue().encode("utf-8-sig" if first else "utf-8")
            buf.seek(0)
            buf.truncate()
            first = False
    if buf.getvalue() or first:
        yield buf.getvalue().encode("utf-8-sig" if first else "utf-8")


def csv_bytes(details: Iterable[CaseDetail], per: Per = "turn") -> bytes:
    """The whole CSV as UTF-8 with BOM (Excel-friendly), CRLF line ends."""
    return b"".join(csv_chunks(details, per))


def xlsx_bytes(details: Iterable[CaseDetail], per: Per = "turn") -> bytes:
    """The same table as an Excel workbook (one sheet 「相談記録」, header row frozen)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("相談記録")
    ws.freeze_panes = "A2"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for n, row in enumerate(table(details, per)):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"          # text, never a formula
            if n == 0:
                cell.font = bold
            elif "\n" in value:
                cell.alignment = wrap
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def jsonl_bytes(details: Iterable[CaseDetail]) -> bytes:
    return "".join(dumps(case_json(d, extended=True)) + "\n" for d in details).encode("utf-8")
