"""Approved entries as an FAQ sheet the knowledge base's FAQ loader reads (``ingest.loaders.faq``):
the bundled sheet's columns 質問, 回答, 該当箇所, 分類 (the loader finds them by header) plus 出典
(the staff-answer label, kept as metadata). CSV, UTF-8 with BOM so Excel opens it; every cell
through ``bot.cases.export.cell_value`` (a formula lead gets an apostrophe, which the FAQ loader
removes again when it reads the sheet).

The bot never writes into ``knowledge_base/`` by itself: ``consult faq export --output FILE``
writes where it is told. An exported entry that stays approved is indexed twice (as an entry and
as a sheet row); retire it after the sheet is in the knowledge base.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable

from bot.cases.export import cell_value
from bot.faq.views import FaqEntryView

HEADER = ["質問", "回答", "該当箇所", "分類", "出典"]


def faq_sheet(entries: Iterable[FaqEntryView]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for entry in entries:
        writer.writerow([cell_value(v) for v in (entry.question, entry.answer, entry.section,
                                                 entry.category, entry.label)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
