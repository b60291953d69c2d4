"""FAQ sheets (.csv in UTF-8 / Shift_JIS, .xlsx): one record per question/answer row.

The question and answer columns are found by header (質問/問/Q/question, 回答/答/A/answer) in
the first rows; the other columns become metadata, a category column (分類/カテゴリ) becomes the
section. A sheet without such a header is read as a table (one readable line per row)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

from ingest.documents import LoadedDocument, Record, TextLine
from ingest.errors import LoadError
from ingest.loaders.docx import table_rows
from ingest.loaders.encoding import decode_bytes

_Q = re.compile(r"^(?:質問(?:内容)?|問い?|問合せ|q|question|faq質問|よくある質問)$")
_A = re.compile(r"^(?:回答(?:内容)?|答え?|a|answer|faq回答)$")
_CATEGORY = re.compile(r"^(?:分類|カテゴリー?|category|区分|項目)$")


def _norm(cell) -> str:
    text = unicodedata.normalize("NFKC", str(cell if cell is not None else "")).strip().lower()
    return re.sub(r"[\s.:：。]+", "", text)


def _find_header(rows: list[list[str]]) -> tuple[int, int, int] | None:
    for index, row in enumerate(rows[:5]):
        names = [_norm(c) for c in row]
        q = next((i for i, n in enumerate(names) if _Q.match(n)), None)
        a = next((i for i, n in enumerate(names) if _A.match(n)), None)
        if q is not None and a is not None and q != a:
            return index, q, a
    return None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        text = text[1:]          # a formula lead neutralised for spreadsheets (bot.cases.export)
    return text


def rows_to_document(rows: list[list[str]], title: str, row_offset: int = 1) -> LoadedDocument:
    rows = [[_cell(c) for c in r] for r in rows]
    header = _find_header(rows)
    if header is None:
        return LoadedDocument(title=title, lines=[TextLine(r) for r in table_rows(rows)])
    start, q_col, a_col = header
    names = rows[start]
    cat_col = next((i for i, n in enumerate(names) if _CATEGORY.match(_norm(n))), None)
    records = []
    for number, row in enumerate(rows[start + 1 :], start=start + 1 + row_offset):
        question = row[q_col] if q_col < len(row) else ""
        answer = row[a_col] if a_col < len(row) else ""
        if not question or not answer:
            continue
        extra = {
            names[i]: value
            for i, value in enumerate(row)
            if i not in (q_col, a_col) and i < len(names) and names[i] and value
        }
        section = row[cat_col] if cat_col is not None and cat_col < len(row) else ""
        records.append(Record(question=question, answer=answer, section=section, row=number, extra=extra))
    return LoadedDocument(title=title, records=records)


def faq_title(path: Path) -> str:
    return f"よくある質問（{path.stem}）"


def load_csv(path: Path) -> LoadedDocument:
    text = decode_bytes(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    return rows_to_document(rows, faq_title(path) if _find_header([[_cell(c) for c in r] for r in rows[:5]]) else path.stem)


def load_xlsx(path: Path) -> LoadedDocument:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(str(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError(f"Excel ファイルを読み込めませんでした（ファイルが壊れている可能性があります）: {exc}") from exc
    try:
        merged = LoadedDocument(title=(workbook.properties.title or "").strip() or faq_title(path))
        for sheet in workbook.worksheets:
            rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            doc = rows_to_document(rows, merged.title)
            for record in doc.records:
                if len(workbook.worksheets) > 1:
                    record.extra.setdefault("sheet", sheet.title)
                    record.section = record.section or sheet.title
            merged.records.extend(doc.records)
            merged.lines.extend(doc.lines)
        return merged
    finally:
        workbook.close()
