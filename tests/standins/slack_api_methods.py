"""The Web API methods answered by `SlackApiStandIn` (mixed into it): realistic response shapes,
state kept in the stand-in (messages per channel, users, channel members, views)."""

from __future__ import annotations

import time
import base64
import hashlib
import hmac
import json
from typing import Any


class SlackMethods:
    """`_m_<method with dots as underscores>(params, call) -> response dict`."""

    def _m_auth_test(self, p, call):
        if not call.token_present:
            return {"ok": False, "error": "not_authed"}
        return {"ok": True, "url": "https://hokkaido-test.slack.com/", "team": self.team_name,
                "user": "consult-bot", "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    def _m_apps_connections_open(self, p, call):
        if not self.socket_mode_url:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_mode_url}

    def _store_bot_message(self, channel: str, text: str, *, thread_ts=None, blocks=None,
                           **extra) -> dict[str, Any]:
        ts = self.next_ts()
        msg: dict[str, Any] = {"type": "message", "ts": ts, "text": text or "",
                               "user": self.bot_user_id, "bot_id": self.bot_id, "team": self.team_id}
        if blocks:
            msg["blocks"] = blocks
        if thread_ts:
            msg["thread_ts"] = thread_ts
        msg.update(extra)
        with self._lock:
            self._messages.setdefault(channel, []).append(msg)
        return msg

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            for msg in self._messages.get(channel, []):
                if msg["ts"] == ts:
                    return msg
        return None

    def _m_chat_postMessage(self, p, call):
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("text") and not p.get("blocks") and not p.get("attachments"):
            return {"ok": False, "error": "no_text"}
        extra = {"metadata": p["metadata"]} if isinstance(p.get("metadata"), dict) else {}
        msg = self._store_bot_message(channel, p.get("text", ""), thread_ts=p.get("thread_ts"),
                                      blocks=p.get("blocks"), **extra)
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": msg}

    def _m_chat_update(self, p, call):
        msg = self._find_message(p.get("channel", ""), p.get("ts", ""))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        with self._lock:
            if "text" in p:
                msg["text"] = p["text"]
            if "blocks" in p:
                msg["blocks"] = p["blocks"]
        return {"ok": True, "channel": p["channel"], "ts": p["ts"], "text": msg["text"],
                "message": dict(msg)}

    def _m_chat_postEphemeral(self, p, call):
        if not p.get("channel") or not p.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self.next_ts()}

    def _m_chat_getPermalink(self, p, call):
        ts = str(p.get("message_ts", "")).replace(".", "")
        return {"ok": True, "channel": p.get("channel"),
                "permalink": f"https://hokkaido-test.slack.com/archives/{p.get('channel')}/p{ts}"}

    def _m_chat_startStream(self, p, call):
        channel = p.get("channel")
        if not channel or not p.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        msg = self._store_bot_message(channel, stream_text(p), thread_ts=p["thread_ts"],
                                      streaming=True)
        return {"ok": True, "channel": channel, "ts": msg["ts"]}

    def _m_chat_appendStream(self, p, call):
        msg = self._find_message(p.get("channel", ""), p.get("ts", ""))
        if msg is None or not msg.get("streaming"):
            return {"ok": False, "error": "message_not_in_streaming_state"}
        with self._lock:
            msg["text"] += stream_text(p)
        return {"ok": True, "channel": p["channel"], "ts": p["ts"]}

    def _m_chat_stopStream(self, p, call):
        msg = self._find_message(p.get("channel", ""), p.get("ts", ""))
        if msg is None or not msg.get("streaming"):
            return {"ok": False, "error": "message_not_in_streaming_state"}
        with self._lock:
            msg["text"] += stream_text(p)
            if p.get("blocks"):
                msg["blocks"] = p["blocks"]
            msg["streaming"] = False
        return {"ok": True, "channel": p["channel"], "ts": p["ts"], "message": dict(msg)}

    def _m_reactions_add(self, p, call):
        channel, ts, name = p.get("channel", ""), p.get("timestamp", ""), p.get("name", "")
        if not channel or not ts or not name:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            if (channel, ts, name) in self._reacted:
                return {"ok": False, "error": "already_reacted"}     # as Slack: once per user
            self._reacted.add((channel, ts, name))
        msg = self._find_message(channel, ts)
        if msg is not None:
            with self._lock:
                msg.setdefault("reactions", []).append({"name": name, "count": 1})
        return {"ok": True}

    def _view_response(self, p, view_id: str | None = None):
        view = p.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = view_id or f"V{next(self._view_counter):06d}"
        stored = {"id": view_id, "team_id": self.team_id, "hash": f"{time.time():.6f}.h",
                  "private_metadata": "", "callback_id": "", **view}
        with self._lock:
            self._views[view_id] = stored
        return {"ok": True, "view": stored}

    def _m_views_open(self, p, call):
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._view_response(p)

    def _m_views_publish(self, p, call):
        if not p.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view_response(p, f"VHOME{p['user_id']}")

    def _m_views_update(self, p, call):
        view_id = p.get("view_id")
        if not view_id and not p.get("external_id"):
            return {"ok": False, "error": "not_found"}
        return self._view_response(p, view_id)

    def _m_views_push(self, p, call):
        return self._view_response(p)

    def _m_conversations_replies(self, p, call):
        channel, ts = p.get("channel"), p.get("ts")
        msgs = self.messages(channel or "", ts) if channel and ts else []
        if not msgs:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": _with_metadata(msgs, p), "has_more": False,
                "response_metadata": {"next_cursor": ""}}

    def _m_conversations_history(self, p, call):
        channel = p.get("channel") or ""
        oldest = float(p.get("oldest") or 0)
        msgs = [m for m in self.messages(channel)
                if (not m.get("thread_ts") or m.get("thread_ts") == m["ts"])
                and float(m["ts"]) >= oldest]
        limit = int(p.get("limit") or 100)
        newest_first = list(reversed(msgs))[:limit]
        return {"ok": True, "messages": _with_metadata(newest_first, p),
                "has_more": len(msgs) > limit, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_members(self, p, call):
        members = self._members.get(p.get("channel", ""))
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_open(self, p, call):
        users = p.get("users") or ""
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        first = str(users).split(",")[0]
        return {"ok": True, "channel": {"id": f"D{first}"}}

    def _m_conversations_info(self, p, call):
        channel = p.get("channel", "")
        return {"ok": True, "channel": {"id": channel, "is_im": channel.startswith("D"),
                                        "is_channel": channel.startswith("C")}}

    def _m_users_info(self, p, call):
        user = self._users.get(p.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_assistant_threads_setStatus(self, p, call):
        if not p.get("channel_id") or not p.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True}

    # ---- Sign in with Slack (OpenID Connect) -------------------------------------------------
    def _m_openid_connect_token(self, p, call):
        """Exchange a code from /openid/connect/authorize for an access token and a signed
        id_token (HS256 with the client secret; Slack signs RS256 — the console relies on the
        TLS-direct exchange, not on the signature)."""
        client = self.oidc_clients.get(p.get("client_id") or "")
        if client is None or client != (p.get("client_secret") or call.basic_secret):
            return {"ok": False, "error": "invalid_client_id"}
        grant = self._oidc_codes.pop(p.get("code") or "", None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        if grant["redirect_uri"] != p.get("redirect_uri"):
            return {"ok": False, "error": "bad_redirect_uri"}
        access = f"xoxp-oidc-{next(self._ts_counter)}"
        claims = grant["claims"]
        self._oidc_access[access] = claims
        return {"ok": True, "access_token": access, "token_type": "Bearer",
                "id_token": make_jwt(claims, client)}

    def _m_openid_connect_userInfo(self, p, call):
        claims = self._oidc_access.get(call.bearer or "")
        if claims is None:
            return {"ok": False, "error": "invalid_auth"}
        info = {k: v for k, v in claims.items() if k not in ("aud", "exp", "iat", "nonce", "iss")}
        info.update(self.oidc_userinfo_overrides)
        return {"ok": True, **info}

    def oidc_authorize(self, query: dict[str, str]) -> str:
        """What Slack's authorize page does once the person signed in: a one-time code for the
        signed-in user (``oidc_user``), to be sent back to ``redirect_uri`` with the state."""
        user = self.oidc_user
        now = int(time.time())
        claims = {"iss": "https://slack.com", "sub": user, "aud": query.get("client_id"),
                  "exp": now + 3600, "iat": now, "nonce": query.get("nonce"),
                  "https://slack.com/user_id": user, "https://slack.com/team_id": self.team_id,
                  "name": (self._users.get(user) or {}).get("real_name") or user}
        claims.update(self.oidc_claim_overrides)
        code = f"code-{next(self._ts_counter)}-{user}"
        self._oidc_codes[code] = {"claims": claims, "redirect_uri": query.get("redirect_uri")}
        return code

    _m_assistant_threads_setSuggestedPrompts = _m_assistant_threads_setStatus
    _m_assistant_threads_setTitle = _m_assistant_threads_setStatus


def _with_metadata(msgs: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Message metadata is returned only with `include_all_metadata` (as Slack does)."""
    if str(params.get("include_all_metadata", "")).lower() in ("1", "true"):
        return [dict(m) for m in msgs]
    return [{k: v for k, v in m.items() if k != "metadata"} for m in msgs]


def stream_text(params: dict[str, Any]) -> str:
    """Text carried by a streaming call: `markdown_text` and/or `markdown_text` chunks."""
    text = params.get("markdown_text") or ""
    for chunk in params.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += chunk.get("text") or ""
    return text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any], secret: str) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, ensure_ascii=False).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"
