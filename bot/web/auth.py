"""Sign-in and the per-request staff check of the console.

Sessions: a random session id kept server-side (``bot.web.tokens``, expiring after
``CONSULT_WEB_SESSION_MINUTES``; logout ends it everywhere) and sent as a signed, HttpOnly,
SameSite=Lax cookie with the same max-age (``Secure`` with ``CONSULT_WEB_SECURE_COOKIES``).
Every request re-checks that the user is staff (the workflow's policy, cached for a minute), so a
member removed from the staff channel loses access within a minute.

Two ways in:
- **Sign in with Slack** (OpenID Connect) when ``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET`` are set
  (``bot.web.oidc``);
- otherwise a **one-time login link** (``bot.web.links``) from the staff App Home button or
  ``consult web login-link USER_ID``: signed, short-lived, single use.

Tokens, cookies and links' secrets are never logged (the access log is off; see ``bot.web.app``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from itsdangerous import BadSignature, TimestampSigner
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from bot.web import links
from bot.web.render import flash, render
from bot.web.security import check_csrf, csrf_token

log = logging.getLogger(__name__)

SESSION_COOKIE = "consult_session"
router = APIRouter()


class LoginRequired(Exception):
    """No (valid) session: GET pages redirect to the sign-in page."""


class NotStaff(Exception):
    """Signed in, but not (or no longer) staff: the polite 403 page."""


class BadForm(Exception):
    """A form without a valid CSRF token, or one that cannot be read: 400/403."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Staff:
    user_id: str
    session_id: str
    csrf: str


def _signer(request: Request) -> TimestampSigner:
    return TimestampSigner(request.app.state.secret, salt="consult-web-session")


def session_id(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    max_age = request.app.state.settings.web_session_minutes * 60
    try:
        return _signer(request).unsign(raw, max_age=max_age).decode()
    except (BadSignature, UnicodeDecodeError):
        return None


async def require_staff(request: Request) -> Staff:
    """The signed-in staff member (LoginRequired / NotStaff otherwise)."""
    sid = session_id(request)
    state = request.app.state
    user = await run_in_threadpool(state.tokens.session_user, sid) if sid else None
    if not user:
        raise LoginRequired()
    if not await run_in_threadpool(state.services.workflow.is_staff, user):
        log.warning("console request by a signed-in non-staff user refused")
        raise NotStaff()
    staff = Staff(user_id=user, session_id=sid, csrf=csrf_token(state.secret, sid))
    request.state.staff = staff
    return staff


async def staff_form(request: Request, staff: Staff = Depends(require_staff)) -> dict[str, str]:
    """A POSTed form of a signed-in staff member with a valid CSRF token (BadForm otherwise)."""
    form = await read_form(request)
    if not check_csrf(request.app.state.secret, staff.session_id, form.get("csrf_token")):
        log.warning("console form refused: missing or wrong CSRF token")
        raise BadForm("フォームの有効期限が切れたか、不正な送信です。ページを開き直してから、"
                      "もう一度操作してください。", status=403)
    return form


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form as a dict of strings (BadForm for anything else or unreadable bytes)."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise BadForm("送信内容の形式が正しくありません。")
    body = await request.body()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise BadForm("送信内容を読み取れませんでした。") from None
    return {k: v for k, v in pairs}


def safe_next(value: str | None) -> str:
    """Only same-site paths: "/cases/12" yes, "//evil.example" or "https://…" no."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def start_session(request: Request, user_id: str, target: str) -> Response:
    state = request.app.state
    minutes = state.settings.web_session_minutes
    sid = state.tokens.new_session(user_id, minutes=minutes)
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(SESSION_COOKIE, _signer(request).sign(sid).decode(), max_age=minutes * 60,
                        httponly=True, samesite="lax", secure=state.settings.web_secure_cookies,
                        path="/")
    log.info("console session started")
    return response


# ---------------------------------------------------------------------------- routes
@router.get("/login")
async def login_page(request: Request, next: str = "/"):
    settings = request.app.state.settings
    return render(request, "login.html", oidc=settings.oidc_configured, next=safe_next(next))


@router.get(links.LINK_PATH)
async def login_with_link(request: Request, token: str = "", next: str = "/"):
    """A one-time login link: valid signature, not expired, not used before, and staff."""
    state = request.app.state
    try:
        user, nonce = links.read_login_token(state.settings, token)
    except links.LinkInvalid as exc:
        log.warning("console login link refused: %s", type(exc).__name__)
        return render(request, "login.html", 400, oidc=state.settings.oidc_configured, next="/",
                      error=exc.user_message)
    minutes = state.settings.web_login_link_minutes + 1
    if not await run_in_threadpool(state.tokens.use_once, "login", nonce, minutes=minutes):
        log.warning("console login link refused: already used")
        return render(request, "login.html", 400, oidc=state.settings.oidc_configured, next="/",
                      error="このログインリンクはすでに使用されています。リンクは一度だけ有効です。"
                            "新しいリンクを発行してください。")
    if not await run_in_threadpool(state.services.workflow.is_staff, user):
        log.warning("console login link for a non-staff user refused")
        raise NotStaff()
    return await run_in_threadpool(start_session, request, user, next)


@router.post("/logout")
async def logout(request: Request, form: dict = Depends(staff_form)):
    state = request.app.state
    await run_in_threadpool(state.tokens.end_session, session_id(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    flash(response, request, "ok", "ログアウトしました。")
    return response

