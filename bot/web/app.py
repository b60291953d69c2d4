"""The app factory of the one HTTP application (FastAPI, server-rendered Jinja2 pages).

    app = build_web_app(settings, services, slack_app=bolt_app)   # then bot.web.server.WebServer

Serves ``/healthz``; ``/slack/events`` when a Bolt app is given (HTTP mode); and, unless
``console=False``, the staff console: sign-in (``auth``, ``oidc``), static files, and every page
module in ``bot/web/pages/`` (each an ``APIRouter``; navigation entries come from the modules).
Middleware: ``SecurityHeaders`` (CSP and friends), ``BodyGuard`` (413 / 408 / buffered body) and
``ActivityMiddleware`` (``bot.activity``: background warm-up waits while requests are served).
Errors become polite Japanese pages (console) or short plain text (Slack, health).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, RedirectResponse
from urllib.parse import quote

from bot.activity import ActivityMiddleware
from bot.errors import CaseNotFound, NotAuthorized, StoreUnavailable
from bot.web import auth, links, oidc, pages
from bot.web.render import make_env, render
from bot.web.security import BodyGuard, SecurityHeaders
from bot.web.tokens import WebTokens

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"

ERROR_TEXTS = {
    400: ("リクエストを処理できません", "送信された内容を読み取れませんでした。ページを開き直してから、もう一度お試しください。"),
    403: ("このページは表示できません", "申し訳ありません。この操作は担当職員の方のみ行えます。"),
    404: ("ページが見つかりません", "お探しのページは見つかりませんでした。URL をご確認ください。"),
    405: ("この操作はできません", "このページではその操作を受け付けていません。"),
    500: ("問題が発生しました", "申し訳ありません。処理中に問題が発生しました。時間をおいて再度お試しください。"),
    503: ("ただいま利用できません", "相談記録のデータベースに接続できませんでした。時間をおいて再度お試しください。"),
}
_PLAIN_PATHS = ("/slack/", "/healthz", "/health", "/static/")


def build_web_app(settings, services, *, slack_app=None, console: bool = True) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="consult")
    app.state.settings = settings
    app.state.services = services
    app.state.slack_app = slack_app
    app.state.secret = links.secret_key(settings)
    app.state.tokens = WebTokens(services.store)
    app.state.templates = make_env()
    app.state.case_panels = []     # extension points of the case page (see pages/case.py)
    app.state.case_item_actions = []
    app.state.case_drafts = []

    @app.get("/healthz")
    @app.get("/health")
    async def healthz():
        return PlainTextResponse("ok")

    if slack_app is not None:
        from bot.web import slack_events

        app.include_router(slack_events.router_for(slack_app))

    modules = []
    if console:
        app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
        app.include_router(auth.router)
        app.include_router(oidc.router)
        modules = pages.page_modules()
        for module in modules:
            app.include_router(module.router)
            setup = getattr(module, "setup", None)
            if setup is not None:
                setup(app)
    app.state.nav = pages.nav_entries(modules)
    _error_handlers(app, console)
    inbox = getattr(slack_app, "inbox", None)
    if inbox is not None:                 # inside BodyGuard: counted once the body is in
        from bot.web.slack_events import AcksFirst

        app.add_middleware(AcksFirst, inbox=inbox)
    app.add_middleware(BodyGuard, timeout=settings.web_request_timeout)
    app.add_middleware(SecurityHeaders)
    activity = getattr(services, "activity", None)
    if activity is not None:   # background warm-up waits while requests are served
        app.add_middleware(ActivityMiddleware, activity=activity)
    return app


def _plain(request: Request) -> bool:
    return request.url.path.startswith(_PLAIN_PATHS)


def _error_page(request: Request, status: int, message: str | None = None):
    if _plain(request) or not request.app.state.nav:
        return PlainTextResponse(ERROR_TEXTS.get(status, ERROR_TEXTS[500])[0], status_code=status)
    title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
    return render(request, "error.html", status, title=title, message=message or text)


def _error_handlers(app: FastAPI, console: bool) -> None:
    @app.exception_handler(auth.LoginRequired)
    async def login_required(request: Request, exc):
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return _error_page(request, 403, "ログインの有効期限が切れました。もう一度ログインしてから操作してください。")

    @app.exception_handler(auth.NotStaff)
    async def not_staff(request: Request, exc):
        return render(request, "forbidden.html", 403)

    @app.exception_handler(auth.BadForm)
    async def bad_form(request: Request, exc: auth.BadForm):
        return _error_page(request, exc.status, exc.message)

    @app.exception_handler(NotAuthorized)
    async def not_authorized(request: Request, exc: NotAuthorized):
        return _error_page(request, 403, exc.user_message)   # e.g. a case another team holds

    @app.exception_handler(CaseNotFound)
    async def case_not_found(request: Request, exc: CaseNotFound):
        return _error_page(request, 404, exc.user_message)

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc):
        return _error_page(request, 503)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc):
        return _error_page(request, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error_page(request, exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_page(request, 500)
