"""資料 — the state of the knowledge index, read-only: the indexed documents (title, type, chunks,
when indexed), the last ingest run (when; added / changed / removed; files that failed and why)
and the embedding model. Read from ingest's state files (``ingest.status``), never from Chroma."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from ingest.status import index_status
from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("資料", "/documents", order=50)
DOC_TYPE_LABELS = {"strategy": "戦略・計画", "rules": "要綱・制度", "faq": "よくある質問", "other": "その他"}


@router.get("/documents")
async def documents(request: Request, staff: Staff = Depends(require_staff)):
    status = await run_in_threadpool(index_status, request.app.state.settings)
    return render(request, "documents.html", status=status, type_labels=DOC_TYPE_LABELS,
                  knowledge_dir=request.app.state.settings.knowledge_dir)
