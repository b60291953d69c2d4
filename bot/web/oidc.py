"""Sign in with Slack (OpenID Connect), for GovSlack too (authorize URL and API base are settings).

1. ``GET /login/slack``: a fresh ``state`` and ``nonce``; the state is stored server-side
   (``bot.web.tokens``, 10 minutes, single use) with the nonce and the page to return to; the
   browser goes to ``SLACK_OIDC_AUTHORIZE_URL`` (``OpenIDConnectAuthorizeUrlGenerator``).
2. ``GET /login/slack/callback?code&state``: the state is taken (a second use, an unknown or an
   expired state is refused), ``openid.connect.token`` exchanges the code (client secret, over TLS
   straight from Slack's API: per OpenID Connect Core 3.1.3.7 the TLS server check stands in for
   the id_token signature), the id_token's ``nonce``, ``aud``, ``exp`` and team
   (``https://slack.com/team_id``) are checked against ours (``SLACK_TEAM_ID``, else the bot
   token's team from ``auth.test``), ``openid.connect.userInfo`` must name the same user, and the
   user must be staff. Then the session starts.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time

from fastapi import APIRouter, Request
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from bot.web.auth import NotStaff, safe_next, start_session
from bot.web.render import render

log = logging.getLogger(__name__)
router = APIRouter()

STATE_MINUTES = 10
SCOPES = ["openid", "profile"]
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
RETRY = "もう一度「Slack でログイン」からお試しください。"


class OIDCRefused(Exception):
    def __init__(self, why: str, message: str) -> None:
        super().__init__(why)
        self.why, self.message = why, message


def redirect_uri(settings) -> str:
    return f"{settings.web_base_url}/login/slack/callback"


def decode_claims(id_token: str) -> dict:
    """The claims of a JWT (payload only; see the module docstring for why no signature check)."""
    try:
        payload = id_token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise OIDCRefused("id_token unreadable", "Slack からの応答を読み取れませんでした。" + RETRY) from exc
    if not isinstance(claims, dict):
        raise OIDCRefused("id_token not an object", "Slack からの応答を読み取れませんでした。" + RETRY)
    return claims


def expected_team(request: Request) -> str | None:
    settings = request.app.state.settings
    if settings.slack_team_id:
        return settings.slack_team_id
    cached = getattr(request.app.state, "team_id", None)
    if cached:
        return cached
    notifier = request.app.state.services.workflow.notifier
    client = getattr(notifier, "client", None)
    if client is None:
        return None
    try:
        team = client.auth_test().get("team_id")
    except SlackApiError as exc:
        log.error("auth.test failed while checking a sign-in: %s", exc.response.get("error"))
        return None
    request.app.state.team_id = team
    return team


def exchange(request: Request, code: str, nonce: str) -> str:
    """The checks of step 2; returns the Slack user id."""
    settings = request.app.state.settings
    api = WebClient(base_url=settings.slack_api_url, timeout=30)
    try:
        token = api.openid_connect_token(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            code=code, redirect_uri=redirect_uri(settings))
    except SlackApiError as exc:
        raise OIDCRefused(f"token exchange failed: {exc.response.get('error')}",
                          "Slack でのログインを完了できませんでした。" + RETRY) from None
    claims = decode_claims(token.get("id_token") or "")
    if not claims.get("nonce") or not secrets.compare_digest(str(claims["nonce"]), nonce):
        raise OIDCRefused("nonce mismatch", "ログインの確認に失敗しました。" + RETRY)
    aud = claims.get("aud")
    if aud != settings.slack_client_id and not (isinstance(aud, list) and settings.slack_client_id in aud):
        raise OIDCRefused("audience mismatch", "ログインの確認に失敗しました。" + RETRY)
    if float(claims.get("exp") or 0) < time.time():
        raise OIDCRefused("id_token expired", "ログインの有効期限が切れました。" + RETRY)
    team = expected_team(request)
    if not team:
        raise OIDCRefused("workspace unknown (set SLACK_TEAM_ID)",
                          "ワークスペースを確認できないため、ログインできません。管理者にお問い合わせください。")
    if claims.get(TEAM_CLAIM) != team:
        raise OIDCRefused("team mismatch", "このワークスペースのアカウントではログインできません。"
                          "職員用の Slack ワークスペースでログインしてください。")
    user = claims.get(USER_CLAIM) or ""
    try:
        info = WebClient(base_url=settings.slack_api_url, token=token.get("access_token"),
                         timeout=30).openid_connect_userInfo()
    except SlackApiError as exc:
        raise OIDCRefused(f"userInfo failed: {exc.response.get('error')}",
                          "Slack でのログインを完了できませんでした。" + RETRY) from None
    if not user or info.get(USER_CLAIM) != user or info.get(TEAM_CLAIM) != team:
        raise OIDCRefused("userInfo disagrees with id_token", "ログインの確認に失敗しました。" + RETRY)
    return user


@router.get("/login/slack")
async def login_slack(request: Request, next: str = "/"):
    state = request.app.state
    settings = state.settings
    if not settings.oidc_configured:
        return RedirectResponse("/login", status_code=303)
    oidc_state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    await run_in_threadpool(state.tokens.put, "oidc", oidc_state,
                            {"nonce": nonce, "next": safe_next(next)}, minutes=STATE_MINUTES)
    url = OpenIDConnectAuthorizeUrlGenerator(
        client_id=settings.slack_client_id, redirect_uri=redirect_uri(settings), scopes=SCOPES,
        authorization_url=settings.slack_oidc_authorize_url).generate(
        state=oidc_state, nonce=nonce, team=settings.slack_team_id)
    return RedirectResponse(url, status_code=303)


@router.get("/login/slack/callback")
async def login_slack_callback(request: Request, code: str = "", state: str = "",
                               error: str = ""):
    app_state = request.app.state

    def refuse(message: str):
        return render(request, "login.html", 400, oidc=True, next="/", error=message)

    saved = await run_in_threadpool(app_state.tokens.take, "oidc", state) if state else None
    if saved is None:
        log.warning("sign in with Slack refused: unknown, used or expired state")
        return refuse("ログインの有効期限が切れたか、すでに使用された要求です。" + RETRY)
    if error or not code:
        log.warning("sign in with Slack cancelled or refused by Slack")
        return refuse("Slack でのログインが完了しませんでした。" + RETRY)
    try:
        user = await run_in_threadpool(exchange, request, code, str(saved.get("nonce") or ""))
    except OIDCRefused as exc:
        log.warning("sign in with Slack refused: %s", exc.why)
        return refuse(exc.message)
    if not await run_in_threadpool(app_state.services.workflow.is_staff, user):
        log.warning("sign in with Slack by a non-staff user refused")
        raise NotStaff()
    return await run_in_threadpool(start_session, request, user, saved.get("next") or "/")
