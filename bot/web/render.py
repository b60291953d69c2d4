"""Templates of the console: one Jinja2 environment (autoescape on for every template), the
filters and labels every page uses, and ``render(request, template, **context)``.

Filters: ``jst`` (a UTC datetime -> "2026-12-01 14:05" in JST), ``status_label``,
``reason_label``, ``reason_short``, ``event_label``, ``mode_label``, ``answer_html`` (a turn's
answer with the link rule of ``bot.answering.links``), ``person`` (a user id ->
display name, via the workflow's Slack port, cached). Every page gets ``nav`` (entries registered
by the page modules), ``staff`` (the signed-in member), ``csrf_token``, ``flashes`` and ``path``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.answering import links
from bot.cases.views import (ESCALATION_SHORT_LABELS, EVENT_LABELS, MODE_LABELS, reason_label,
                             status_label)

JST = timezone(timedelta(hours=9))
TEMPLATES = Path(__file__).resolve().parent / "templates"
FLASH_COOKIE = "consult_flash"


def jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(JST).strftime(fmt)


def answer_html(turn: Any) -> Markup:
    """A recorded answer as HTML: only links its cited passages contain are links (the one rule,
    ``bot.answering.links``); every other address is plain, defanged text."""
    out = []
    for seg in links.recorded_segments(turn.answer or "", turn.sources or ()):
        if isinstance(seg, links.Text):
            out.append(escape(seg.text))
        elif seg.allowed:
            out.append(Markup('<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}'
                              '</a>').format(links.href(seg), seg.label or seg.url))
        else:
            out.append(escape(links.plain_text([seg])))
    return Markup("").join(out)


def make_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "xml", "svg"], default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(
        jst=jst, status_label=status_label, reason_label=reason_label,
        reason_short=lambda r: ESCALATION_SHORT_LABELS.get(r or "", r or ""),
        event_label=lambda k: EVENT_LABELS.get(k, k), mode_label=lambda m: MODE_LABELS.get(m or "", m or "—"),
        answer_html=answer_html,
    )
    return env


@dataclass(frozen=True)
class Flash:
    level: str        # "ok" | "error" | "info"
    text: str


def _flash_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret, salt="consult-web-flash")


def flash(response: Response, request: Request, level: str, text: str) -> Response:
    """Carry a message to the next page (a signed, short-lived cookie)."""
    response.set_cookie(FLASH_COOKIE, _flash_serializer(request).dumps([level, text[:600]]),
                        max_age=60, httponly=True, samesite="lax",
                        secure=request.app.state.settings.web_secure_cookies, path="/")
    return response


def _read_flash(request: Request) -> list[Flash]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        level, text = _flash_serializer(request).loads(raw)
        return [Flash(str(level), str(text))]
    except (BadSignature, ValueError, TypeError):
        return []


def person(request: Request, user_id: str | None) -> str:
    """A display name for a user id (Slack users.info via the workflow's port), else the id."""
    if not user_id:
        return "—"
    name = request.app.state.services.workflow.notifier.user_name(user_id)
    return name or user_id


def render(request: Request, template: str, status_code: int = 200, *,
           flashes: list[Flash] | None = None, **context: Any) -> HTMLResponse:
    state = request.app.state
    staff = getattr(request.state, "staff", None)
    shown = list(flashes or []) + _read_flash(request)
    page = state.templates.get_template(template).render(
        request=request, nav=state.nav, staff=staff, path=request.url.path,
        csrf_token=staff.csrf if staff else "", flashes=shown,
        person=lambda uid: person(request, uid), app_name="相談アシスタント 職員用ページ",
        **context)
    response = HTMLResponse(page, status_code=status_code)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
