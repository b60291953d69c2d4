"""Signing in to the console and the refusals: login links (expired, reused, tampered, non-staff),
sessions (logout, expiry, staff re-checked on every request), CSRF on every form, security
headers, and Sign in with Slack (OpenID Connect) end to end against the Slack stand-in."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update

from bot.cases.models import WebTokenRow
from bot.web import links
from bot.web.auth import SESSION_COOKIE
from tests.web.conftest import (BASE_URL, LEAD, OUTSIDER, STAFF, STAFF_CHANNEL, csrf_of,
                                make_world)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_pages_need_a_session_and_the_login_page_explains_how(console):
    anonymous = console.client(None)
    resp = anonymous.get("/cases/1")
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=/cases/1"
    page = anonymous.get("/login")
    assert page.status_code == 200
    assert "職員用ページを開く" in page.text and "consult web login-link" in page.text
    assert "Slack でログイン" not in page.text            # OIDC not configured here
    assert anonymous.post("/cases/1/take", data={"csrf_token": "x"}).status_code == 403
    assert anonymous.get("/healthz").text == "ok"


def test_a_login_link_works_once_and_sets_a_hardened_cookie(console):
    client = console.client(None)
    link = path_of(links.login_link(console.settings, STAFF))
    first = client.get(link)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=lax", "Max-Age=28800", "Path=/"):
        assert attribute.lower() in cookie.lower(), attribute
    home = client.get("/")
    assert home.status_code == 200 and "相談一覧" in home.text and "道庁 花子 さん" in home.text

    reused = console.client(None).get(link)                     # the same link again
    assert reused.status_code == 400 and "すでに使用されています" in reused.text
    assert SESSION_COOKIE not in reused.headers.get("set-cookie", "")


def test_expired_tampered_and_foreign_links_are_refused(console):
    class OldSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 3600

    old = URLSafeTimedSerializer(links.secret_key(console.settings), salt=links.LOGIN_LINK_SALT,
                                 signer=OldSigner).dumps(
        {"u": STAFF, "n": "n-old"})
    client = console.client(None)
    expired = client.get(f"/login/link?token={old}")
    assert expired.status_code == 400 and "有効期限が切れています" in expired.text
    token = parse_qs(urlsplit(links.login_link(console.settings, STAFF)).query)["token"][0]
    tampered = client.get(f"/login/link?token={token[:-2]}xx")
    assert tampered.status_code == 400 and "無効です" in tampered.text
    forged = URLSafeTimedSerializer("another-key", salt=links.LOGIN_LINK_SALT).dumps(
        {"u": STAFF, "n": "n-forged"})
    assert client.get(f"/login/link?token={forged}").status_code == 400
    assert client.get("/login/link").status_code == 400
    assert client.get("/").status_code == 303                  # still not signed in


def test_non_staff_get_the_polite_403_page(console):
    resp = console.client(None).get(path_of(links.login_link(console.settings, OUTSIDER)))
    assert resp.status_code == 403
    assert "職員用ページは、相談対応を担当する職員の方のみ" in resp.text
    assert SESSION_COOKIE not in resp.headers.get("set-cookie", "")


def test_staff_is_rechecked_on_every_request(console):
    client = console.client(STAFF)
    assert client.get("/").status_code == 200
    console.slack.set_members(STAFF_CHANNEL, ["UBOT"])          # removed from the staff channel
    console.workflow.policy.clear_cache()                       # (the cache lasts a minute)
    resp = client.get("/")
    assert resp.status_code == 403 and "担当する職員の方のみ" in resp.text


def test_logout_ends_the_session_everywhere(console):
    client = console.client(LEAD)
    page = client.get("/")
    stolen = client.cookies.get(SESSION_COOKIE)
    resp = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    assert client.get("/").status_code == 303
    replay = console.client(None)
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert replay.get("/").status_code == 303                 # the old cookie is dead server-side
    assert "ログアウトしました" in client.get("/login").text


def test_logout_needs_the_csrf_token(console):
    client = console.client(STAFF)
    assert client.post("/logout").status_code == 400           # not a form at all
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    assert client.get("/").status_code == 200                 # still signed in


def test_an_expired_session_sends_back_to_login(console):
    client = console.client(STAFF)
    assert client.get("/").status_code == 200
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    with console.store.engine.begin() as conn:
        conn.execute(update(WebTokenRow).where(WebTokenRow.kind == "session")
                     .values(expires_at=past))
    assert client.get("/").status_code == 303


def test_a_cookie_signed_with_another_key_is_ignored(console):
    client = console.client(None)
    client.cookies.set(SESSION_COOKIE, "forged.value.sig")
    assert client.get("/").status_code == 303


def test_security_headers_on_every_page(console):
    client = console.client(STAFF)
    for path in ("/", "/login", "/healthz", "/cases/99999"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
    missing = client.get("/cases/99999")
    assert missing.status_code == 404 and "相談#99999 は見つかりませんでした" in missing.text


# ---------------------------------------------------------------------------- Sign in with Slack
@pytest.fixture
def oidc(tmp_path, slack_api):
    slack_api.oidc_clients["1111.2222"] = "oidc-client-secret"
    world = make_world(tmp_path, slack_api, SLACK_CLIENT_ID="1111.2222",
                       SLACK_CLIENT_SECRET="oidc-client-secret",
                       SLACK_OIDC_AUTHORIZE_URL=slack_api.oidc_authorize_url)
    yield world
    world.store.close()


def sign_in_with_slack(world, client, next_path: str = "/cases/7"):
    """The browser's round trip: our /login/slack -> the stand-in's authorize page -> callback."""
    start = client.get(f"/login/slack?next={next_path}")
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert authorize.startswith(world.slack.oidc_authorize_url)
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"] == ["openid,profile"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == [f"{BASE_URL}/login/slack/callback"]
    back = httpx.get(authorize, follow_redirects=False)      # the real stand-in over HTTP
    assert back.status_code == 302
    return client.get(path_of(back.headers["location"])), query


def test_sign_in_with_slack_end_to_end(oidc):
    client = oidc.client(None)
    assert "Slack でログイン" in client.get("/login").text
    done, _ = sign_in_with_slack(oidc, client)
    assert done.status_code == 303 and done.headers["location"] == "/cases/7"
    assert client.get("/").status_code == 200
    token_call = oidc.slack.calls("openid.connect.token")[-1]
    assert token_call.params["client_id"] == "1111.2222"
    assert oidc.slack.ok_calls("openid.connect.userInfo")
    assert oidc.slack.ok_calls("auth.test")                     # the workspace, from the bot token


def test_oidc_state_is_single_use_and_must_match(oidc):
    client = oidc.client(None)
    done, query = sign_in_with_slack(oidc, client)
    assert done.status_code == 303
    state = query["state"][0]
    replay = oidc.client(None).get(f"/login/slack/callback?code=anything&state={state}")
    assert replay.status_code == 400 and "すでに使用された" in replay.text
    unknown = oidc.client(None).get("/login/slack/callback?code=anything&state=made-up")
    assert unknown.status_code == 400
    assert oidc.client(None).get("/login/slack/callback?code=x").status_code == 400


def test_oidc_nonce_mismatch_is_refused(oidc):
    oidc.slack.oidc_claim_overrides = {"nonce": "someone-elses-nonce"}
    client = oidc.client(None)
    done, _ = sign_in_with_slack(oidc, client)
    assert done.status_code == 400 and "ログインの確認に失敗しました" in done.text
    assert client.get("/").status_code == 303


def test_oidc_team_from_another_workspace_is_refused(oidc):
    oidc.slack.oidc_claim_overrides = {"https://slack.com/team_id": "T0OTHER"}
    client = oidc.client(None)
    done, _ = sign_in_with_slack(oidc, client)
    assert done.status_code == 400 and "このワークスペースのアカウントではログインできません" in done.text
    assert client.get("/").status_code == 303


def test_oidc_non_staff_get_403(oidc):
    oidc.slack.oidc_user = OUTSIDER
    client = oidc.client(None)
    done, _ = sign_in_with_slack(oidc, client)
    assert done.status_code == 403 and "担当する職員の方のみ" in done.text


def test_oidc_userinfo_must_name_the_same_user(oidc):
    oidc.slack.oidc_userinfo_overrides = {"https://slack.com/user_id": LEAD}
    done, _ = sign_in_with_slack(oidc, oidc.client(None))
    assert done.status_code == 400
