"""Typed views of incoming Slack payloads, parsed by pure functions (no Slack calls).

Parsing also decides what is noise: the bot's own messages, other bots, edits, deletions,
join/leave and other subtypes, empty text.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal, Mapping, get_args

# Message subtypes that are a person writing something (everything else is noise).
_USER_SUBTYPES = {None, "file_share", "thread_broadcast"}
_MENTION_RE = re.compile(r"<@([UWB][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class IncomingMessage:
    team: str
    channel: str
    channel_type: str            # "im", "channel", "group", "mpim" ("" for app_mention)
    user: str
    text: str                    # the question, bot mention removed
    ts: str
    thread_ts: str | None
    event_id: str | None
    client_msg_id: str | None
    mentions_bot: bool

    @property
    def root_ts(self) -> str:
        """The thread the consultation lives in (a top-level message starts its own thread)."""
        return self.thread_ts or self.ts

    @property
    def in_thread(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im" or self.channel.startswith("D")

    @property
    def dedupe_key(self) -> str:
        """Same for every delivery of the same user message (retries, app_mention + message)."""
        if self.client_msg_id:
            return f"slack:{self.team}:msg:{self.client_msg_id}"
        if self.event_id:
            return f"slack:{self.team}:event:{self.event_id}"
        return f"slack:{self.team}:ts:{self.channel}:{self.ts}"


@dataclass(frozen=True)
class IncomingCommand:
    team: str
    channel: str
    user: str
    user_name: str | None
    text: str
    trigger_id: str

    @property
    def dedupe_key(self) -> str:
        return f"slack:{self.team}:command:{self.trigger_id}"


@dataclass(frozen=True)
class ButtonClick:
    team: str
    user: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    value: str
    trigger_id: str | None


def strip_mentions(text: str, bot_user_id: str | None) -> tuple[str, bool]:
    """Remove the bot's mention(s); returns (text, mentioned)."""
    mentioned = False

    def repl(match: re.Match) -> str:
        nonlocal mentioned
        if bot_user_id and match.group(1) == bot_user_id:
            mentioned = True
            return " "
        return match.group(0)

    cleaned = _MENTION_RE.sub(repl, text or "")
    return " ".join(cleaned.split()), mentioned


def parse_message(body: Mapping[str, Any], bot_user_id: str | None,
                  bot_id: str | None = None) -> IncomingMessage | None:
    """An `app_mention` or `message` event -> IncomingMessage, or None when it is noise."""
    event = body.get("event") or {}
    if event.get("type") not in ("app_mention", "message"):
        return None
    if event.get("subtype") not in _USER_SUBTYPES:
        return None                                   # edits, deletions, joins, bot_message…
    if event.get("bot_id") or event.get("bot_profile"):
        return None                                   # any bot, including this one
    user = event.get("user")
    if not user or (bot_user_id and user == bot_user_id):
        return None
    if bot_id and event.get("bot_id") == bot_id:
        return None
    text, mentioned = strip_mentions(event.get("text") or "", bot_user_id)
    if not text:
        return None
    team = event.get("team") or body.get("team_id") or ""
    return IncomingMessage(
        team=team, channel=event.get("channel") or "", channel_type=event.get("channel_type") or "",
        user=user, text=text, ts=event.get("ts") or "", thread_ts=event.get("thread_ts"),
        event_id=body.get("event_id"), client_msg_id=event.get("client_msg_id"),
        mentions_bot=mentioned or event.get("type") == "app_mention",
    )


def is_bare_mention(body: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """An app_mention by a person that carries no question (just "@bot")."""
    event = body.get("event") or {}
    if event.get("type") != "app_mention" or event.get("bot_id") or not event.get("user"):
        return False
    text, _ = strip_mentions(event.get("text") or "", bot_user_id)
    return not text and event.get("user") != bot_user_id


# Kinds of question deliveries the durable inbox records (see `classify`).
MENTION, DM, ASSISTANT, FOLLOW_UP, COMMAND = "mention", "dm", "assistant", "follow_up", "command"
CONSULT_COMMAND = "/consult"


@dataclass(frozen=True)
class Job:
    """A delivery that asks the bot something: what the inbox records before the ack."""

    kind: str                    # MENTION / DM / ASSISTANT / FOLLOW_UP / COMMAND
    key: str                     # the dedupe key (retries and twin events share it)
    payload: dict[str, Any]      # the parsed IncomingMessage / IncomingCommand, as a dict

    @property
    def message(self) -> IncomingMessage:
        return IncomingMessage(**self.payload)

    @property
    def command(self) -> IncomingCommand:
        return IncomingCommand(**self.payload)


def classify(body: Mapping[str, Any], bot_user_id: str | None,
             bot_id: str | None = None) -> Job | None:
    """The question a delivery carries, or None (noise, a bare mention, buttons, views, …).

    - `app_mention` with a question                      -> MENTION
    - top-level DM                                       -> DM
    - DM thread reply (the assistant view)               -> ASSISTANT
    - channel thread reply without a mention             -> FOLLOW_UP (the bot answers it only if
      the thread is one of its consultations; decided later, off the ack path)
    - `/consult <text>`                                  -> COMMAND
    A channel message that mentions the bot also arrives as `app_mention`: only that one counts.
    """
    if body.get("command"):
        if body.get("command") != CONSULT_COMMAND:
            return None
        cmd = parse_command(body)
        return Job(COMMAND, cmd.dedupe_key, asdict(cmd)) if cmd.text else None
    if body.get("type") != "event_callback":
        return None
    msg = parse_message(body, bot_user_id, bot_id)
    if msg is None:
        return None
    event_type = (body.get("event") or {}).get("type")
    if event_type == "app_mention":
        kind = MENTION
    elif msg.is_dm:
        kind = ASSISTANT if msg.in_thread else DM
    elif msg.mentions_bot or not msg.in_thread:
        return None
    else:
        kind = FOLLOW_UP
    return Job(kind, msg.dedupe_key, asdict(msg))


def parse_command(command: Mapping[str, Any]) -> IncomingCommand:
    return IncomingCommand(
        team=command.get("team_id") or "", channel=command.get("channel_id") or "",
        user=command.get("user_id") or "", user_name=command.get("user_name"),
        text=" ".join((command.get("text") or "").split()),
        trigger_id=command.get("trigger_id") or "",
    )


def parse_click(body: Mapping[str, Any]) -> ButtonClick:
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    return ButtonClick(
        team=(body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "",
        user=(body.get("user") or {}).get("id") or "",
        channel=container.get("channel_id") or (body.get("channel") or {}).get("id"),
        message_ts=container.get("message_ts") or message.get("ts"),
        thread_ts=message.get("thread_ts") or container.get("thread_ts"),
        value=str(action.get("value") or ""),
        trigger_id=body.get("trigger_id"),
    )


Polarity = Literal["up", "down"]          # the values `record_feedback` stores
_POLARITIES: tuple[str, ...] = get_args(Polarity)
_ID = r"([1-9][0-9]{0,17})"              # a database id (fits a 64-bit integer), no sign or padding
_FEEDBACK_VALUE_RE = re.compile(rf"({'|'.join(_POLARITIES)}):{_ID}:{_ID}")
_CASE_VALUE_RE = re.compile(_ID)


@dataclass(frozen=True)
class FeedbackValue:
    """What one feedback button stands for: 👍 / 👎 on one turn of one case."""

    polarity: Polarity
    case_id: int
    turn_id: int

    def __post_init__(self) -> None:
        if self.polarity not in _POLARITIES:
            raise ValueError(f"feedback polarity must be one of {_POLARITIES}")

    def encode(self) -> str:
        """`"up:12:34"`: the button's value (a few dozen characters; Slack allows 2,000)."""
        return f"{self.polarity}:{self.case_id}:{self.turn_id}"


def parse_feedback_value(value: str) -> FeedbackValue:
    """`"up:12:34"` -> FeedbackValue("up", 12, 34). Raises ValueError on anything else."""
    match = _FEEDBACK_VALUE_RE.fullmatch(value or "")
    if match is None:
        raise ValueError(f"malformed feedback value {(value or '')[:60]!r}")
    polarity, case_id, turn_id = match.groups()
    return FeedbackValue(polarity=polarity, case_id=int(case_id),   # type: ignore[arg-type]
                         turn_id=int(turn_id))


def parse_case_value(value: str) -> int:
    """The 「職員に相談する」 button's value `"12"` -> 12. Raises ValueError on anything else."""
    if not _CASE_VALUE_RE.fullmatch(value or ""):
        raise ValueError(f"malformed case value {(value or '')[:60]!r}")
    return int(value)
