"""slack/manifest.yml asks for exactly the scopes and events the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.slack import ids

REPO = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((REPO / "slack" / "manifest.yml").read_text(encoding="utf-8"))

# Web API method (as called on the WebClient) -> bot scope it needs (None: no scope needed).
METHOD_SCOPES = {
    "chat_postMessage": "chat:write", "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write", "chat_stream": "chat:write", "chat_getPermalink": None,
    "reactions_add": "reactions:write", "views_open": None, "views_publish": None,
    "views_update": None, "users_info": ("users:read", "users:read.email"),
    "conversations_open": "im:write",
    "auth_test": None,
    # the staff channel may be public or private
    "conversations_members": ("channels:read", "groups:read"),
    # thread history: channel threads (follow-ups) and DMs
    "conversations_replies": ("channels:history", "groups:history", "im:history"),
    # the /consult root message in the officer's DM (looked up again before a retry)
    "conversations_history": "im:history",
    # the assistant view's status (the inbox sets it when it works off the question)
    "assistant_threads_setStatus": "assistant:write",
}
# Events the app listens to -> scope.
EVENT_SCOPES = {
    "app_mention": "app_mentions:read", "message.channels": "channels:history",
    "message.groups": "groups:history", "message.im": "im:history",
    "app_home_opened": None, "assistant_thread_started": "assistant:write",
    "assistant_thread_context_changed": "assistant:write",
}
BOLT_HELPERS = {"set_status": "assistant:write", "set_suggested_prompts": "assistant:write",
                "say": "chat:write"}


def used_methods() -> set[str]:
    # every Slack call of the product: the Slack surfaces, the staff package, the workflow's port
    # and staff policy, the web console's sign-in
    code = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "bot").rglob("*.py"))
    return set(re.findall(r"client\.([a-zA-Z_]+)\(", code))


def scopes_for(values) -> set[str]:
    out: set[str] = set()
    for v in values:
        if v is None:
            continue
        out.update(v if isinstance(v, tuple) else {v})
    return out


def test_every_called_method_is_known():
    unknown = used_methods() - METHOD_SCOPES.keys()
    assert not unknown, f"add these methods (and their scopes) to the manifest check: {unknown}"


def test_scopes_are_exactly_those_used():
    needed = scopes_for(METHOD_SCOPES[m] for m in used_methods())
    needed |= scopes_for(EVENT_SCOPES.values()) | set(BOLT_HELPERS.values()) | {"commands"}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_sign_in_with_slack_asks_only_openid_and_profile():
    # openid.connect.token / openid.connect.userInfo: user scopes of Sign in with Slack
    assert set(MANIFEST["oauth_config"]["scopes"]["user"]) == {"openid", "profile"}
    urls = MANIFEST["oauth_config"]["redirect_urls"]
    assert urls and all(u.endswith("/login/slack/callback") for u in urls)


def test_events_and_command_match_the_listeners():
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == set(EVENT_SCOPES)
    commands = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert commands == [ids.CONSULT_COMMAND]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
