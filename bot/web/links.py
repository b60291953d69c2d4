"""Signed one-time login links and the console's signing key (no web framework imported here, so
the Slack App Home and the CLI can make links cheaply).

A login link is ``<CONSULT_WEB_BASE_URL>/login/link?token=<signed {user, nonce}>``: signed with
the console's key (itsdangerous, HMAC-SHA256), valid ``CONSULT_WEB_LOGIN_LINK_MINUTES``, and
single use — the web app records the nonce's hash when the link is used (``bot.web.tokens``).
The key is ``CONSULT_WEB_SECRET``, else a random key created once under the data dir
(``web_secret``, mode 0600), so links made by the CLI work in the running console.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.errors import ConsultError

LOGIN_LINK_SALT = "consult-web-login-link"
LINK_PATH = "/login/link"


class LinkInvalid(ConsultError):
    user_message = ("このログインリンクは無効です。Slack の App Home の「職員用ページを開く」から、"
                    "または管理者にリンクを発行し直してもらってください。")


class LinkExpired(LinkInvalid):
    user_message = ("このログインリンクは有効期限が切れています。Slack の App Home の"
                    "「職員用ページを開く」から開き直すか、新しいリンクを発行してください。")


def secret_key(settings) -> str:
    """The console's signing key (setting, else a file under the data dir made on first use)."""
    if settings.web_secret is not None and settings.web_secret.get_secret_value().strip():
        return settings.web_secret.get_secret_value().strip()
    path = Path(settings.data_dir) / "web_secret"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
    except FileExistsError:  # pragma: no cover - another process won the race
        pass
    return path.read_text(encoding="ascii").strip()


def _serializer(settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(settings), salt=LOGIN_LINK_SALT)


def make_login_token(settings, user_id: str) -> str:
    return _serializer(settings).dumps({"u": user_id, "n": secrets.token_urlsafe(16)})


def login_link(settings, user_id: str) -> str:
    """A one-time, short-lived sign-in link to the console for ``user_id``."""
    token = make_login_token(settings, user_id)
    return f"{settings.web_base_url}{LINK_PATH}?token={quote(token)}"


def read_login_token(settings, token: str) -> tuple[str, str]:
    """(user id, nonce) of a valid, unexpired token; LinkExpired / LinkInvalid otherwise."""
    try:
        data = _serializer(settings).loads(token, max_age=settings.web_login_link_minutes * 60)
    except SignatureExpired as exc:
        raise LinkExpired("login link expired") from exc
    except BadSignature as exc:
        raise LinkInvalid("login link signature invalid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or \
            not isinstance(data.get("n"), str) or not data["u"]:
        raise LinkInvalid("login link payload invalid")
    return data["u"], data["n"]


def console_entry_url(settings, user_id: str) -> str:
    """Where the staff App Home button leads: the sign-in page when Sign in with Slack is
    configured, else a one-time login link for ``user_id``."""
    if settings.oidc_configured:
        return f"{settings.web_base_url}/login"
    return login_link(settings, user_id)
