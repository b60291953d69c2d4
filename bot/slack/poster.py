"""Posting a reply so that a retry can never post it twice.

`chat.postMessage` has no idempotency key: when Slack stores a message but the response is lost
(a dropped connection, a 500 after the write), a blind retry posts the same answer again. So:

- every reply part carries a deterministic marker in its message metadata
  (`event_type: consult_reply`, payload: a hash of the delivery key and the part number);
- the client used here has NO automatic retries (the SDK's connection / server-error handlers
  would retry blindly); a failure surfaces as `PostFailed` and the durable inbox decides when to
  try again;
- before any retry, `find()` looks for the marker in the thread (`conversations.replies` with
  `include_all_metadata`) or, for a top-level message, in the channel's recent history; when it
  is there, its `ts` is used and nothing is posted.

`PostFailed.permanent` marks errors that waiting cannot fix (the channel is gone, the message is
malformed); everything else — HTTP 5xx, 429, a lost connection, `not_in_channel` (the bot may be
invited again) — is retried with backoff for the bounded time the settings allow.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

MARKER_EVENT = "consult_reply"
_PERMANENT = frozenset({"channel_not_found", "is_archived", "msg_too_long", "invalid_blocks",
                        "invalid_blocks_format", "no_text", "invalid_arguments", "invalid_auth",
                        "account_inactive", "token_revoked", "not_authed", "invalid_metadata_format",
                        "invalid_metadata_schema", "restricted_action", "cannot_reply_to_message"})
_HISTORY_PAGES = 5


class PostFailed(Exception):
    """Slack did not take the message (or we cannot tell whether it did)."""

    def __init__(self, error: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(error)
        self.error = error
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Part:
    """One message to post: where, what, and its marker."""

    channel: str
    thread_ts: str | None          # None: a top-level message
    text: str
    blocks: list[dict[str, Any]]
    delivery: str                  # the delivery's key
    part: str                      # "0", "1", … or "root"


def marker_id(delivery: str) -> str:
    return hashlib.sha256(delivery.encode("utf-8")).hexdigest()[:24]


def metadata(part: Part) -> dict[str, Any]:
    return {"event_type": MARKER_EVENT,
            "event_payload": {"delivery": marker_id(part.delivery), "part": part.part}}


def failure(exc: BaseException) -> PostFailed:
    """A Slack client exception as a PostFailed (what went wrong, in a few words)."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", 200)
        if status == 429:
            retry_after = None
            try:
                retry_after = float((resp.headers or {}).get("Retry-After") or 0) or None
            except (TypeError, ValueError):
                pass
            return PostFailed("ratelimited", retry_after=retry_after)
        if status >= 500:
            return PostFailed(f"http_{status}")
        error = str(resp.get("error") or f"http_{status}")
        return PostFailed(error, permanent=error in _PERMANENT)
    if isinstance(exc, (OSError, http.client.HTTPException)):
        return PostFailed(f"connection ({type(exc).__name__})")
    return PostFailed(type(exc).__name__)


class Poster:
    def __init__(self, client: WebClient):
        self.client = client

    def post(self, part: Part, *, check_first: bool) -> str:
        """Post `part` (unless `check_first` finds it already there); returns its ts.
        Raises PostFailed."""
        if check_first:
            ts = self.find(part)
            if ts is not None:
                log.info("reply part %s of a delivery was already in Slack (ts %s): not posted "
                         "again", part.part, ts)
                return ts
        try:
            resp = self.client.chat_postMessage(
                channel=part.channel, thread_ts=part.thread_ts, text=part.text,
                blocks=part.blocks or None, metadata=metadata(part), unfurl_links=False,
                unfurl_media=False)
        except Exception as exc:  # SlackApiError, a lost connection, a timeout
            raise failure(exc) from exc
        return str(resp["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message in place (idempotent). Raises PostFailed."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or None)
        except Exception as exc:
            raise failure(exc) from exc

    def find(self, part: Part) -> str | None:
        """The ts of the message carrying `part`'s marker, if Slack has it. Raises PostFailed
        when Slack cannot be asked (then posting again could duplicate)."""
        wanted = metadata(part)["event_payload"]
        try:
            for msg in self._candidates(part):
                meta = msg.get("metadata") or {}
                if meta.get("event_type") == MARKER_EVENT and \
                        (meta.get("event_payload") or {}) == wanted:
                    return str(msg.get("ts"))
        except SlackApiError as exc:
            if (exc.response.get("error") if exc.response is not None else None) == \
                    "thread_not_found":
                return None          # nothing was ever posted in that thread
            raise failure(exc) from exc
        except Exception as exc:
            raise failure(exc) from exc
        return None

    def _candidates(self, part: Part):
        cursor = None
        for _ in range(_HISTORY_PAGES):
            if part.thread_ts:
                resp = self.client.conversations_replies(
                    channel=part.channel, ts=part.thread_ts, include_all_metadata=True,
                    limit=200, cursor=cursor)
            else:
                resp = self.client.conversations_history(
                    channel=part.channel, include_all_metadata=True, limit=200, cursor=cursor)
            yield from resp.get("messages") or []
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return
