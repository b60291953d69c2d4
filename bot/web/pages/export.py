"""エクスポート — the current filter of 相談一覧 as CSV (UTF-8 with BOM, JST times) or Excel
(XLSX), one row per question or per case, with the columns of `consult cases export` (the same
module, ``bot.cases.export``). The filter arrives in the query string, like the queue's."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from bot.cases import export
from bot.cases.queue import REASON_LABELS, TAB_LABELS, QueueFilter
from bot.cases.workdays import JST
from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.pages.queue import parse_filter, query_string, teams_of
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("エクスポート", "/export", order=40)
FORMATS = (("csv", "CSV（Excel で開けます）"), ("xlsx", "Excel ファイル（xlsx）"))
PERS = (("turn", "質問ごとに 1 行"), ("case", "相談ごとに 1 行"))


def describe(f: QueueFilter, person, teams=None) -> list[str]:
    """The filter in words, for the page."""
    parts = [f"状態: {TAB_LABELS[f.tab]}"]
    if f.team:
        team = teams.get(f.team) if teams is not None else None
        parts.append(f"チーム: {team.name if team else f.team}")
    if f.subprefecture:
        parts.append(f"振興局: {f.subprefecture}")
    if f.municipality:
        parts.append(f"市町村: {'未設定' if f.municipality == '-' else f.municipality}")
    if f.assignee:
        parts.append("担当者: " + {"me": "自分", "none": "未割り当て"}.get(f.assignee, person(f.assignee)))
    if f.programme:
        parts.append(f"事業: {f.programme}")
    if f.reason:
        parts.append(f"対応が必要な理由: {REASON_LABELS.get(f.reason, f.reason)}")
    if f.thumbs_down:
        parts.append("👎 のある相談だけ")
    if f.since or f.until:
        parts.append(f"期間: {f.since or '最初'} 〜 {f.until or '現在'}")
    if f.q:
        parts.append(f"キーワード: {f.q}")
    return parts


@router.get("/export")
async def export_page(request: Request, staff: Staff = Depends(require_staff)):
    f, errors = parse_filter(request)
    page = await run_in_threadpool(request.app.state.services.store.queue, f, me=staff.user_id)
    params = page.filter.to_params(page=1)
    return render(request, "export.html", f=page.filter, count=page.counts[page.filter.tab],
                  errors=errors, formats=FORMATS, pers=PERS, params=params,
                  describe=lambda f, person: describe(f, person, teams_of(request)),
                  back_link="/" + query_string(params))


@router.get("/export/download")
async def download(request: Request, staff: Staff = Depends(require_staff)):
    params = request.query_params
    fmt = params.get("format", "csv")
    per = params.get("per", "turn")
    if fmt not in dict(FORMATS) or per not in dict(PERS):
        return render(request, "error.html", 400, title="エクスポートできません",
                      message="出力形式は CSV か Excel、行の単位は質問ごとか相談ごとを選んでください。")
    f, _ = parse_filter(request, params)
    store = request.app.state.services.store
    stamp = datetime.now(JST).strftime("%Y%m%d-%H%M")
    name = f"相談記録_{stamp}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename=\"consult-cases-{stamp}.{fmt}\"; "
                                      f"filename*=UTF-8''{quote(name)}",
               "Cache-Control": "no-store"}
    if fmt == "csv":
        chunks = export.csv_chunks(store.iter_export(f, me=staff.user_id), per)
        return StreamingResponse(chunks, media_type=export.CSV_MEDIA_TYPE, headers=headers)
    data = await run_in_threadpool(lambda: export.xlsx_bytes(store.iter_export(f, me=staff.user_id), per))
    return Response(data, media_type=export.XLSX_MEDIA_TYPE, headers=headers)
