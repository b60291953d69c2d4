"""Pure Block Kit builders of the officer surfaces (no Slack calls, unit-tested without Slack).

Every text that came from a model, a document or a user goes through `escape()` (`&`, `<`, `>`),
so an answer can never ping `<!channel>` or forge a link. Long answers are split within Slack's
limits: 3,000 characters per section text, 50 blocks per message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from bot.answering import links
from bot.domain import Answer, ConsultResult, Passage
from bot.slack import ids
from bot.slack.incoming import FeedbackValue, Polarity

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_TEXT_LIMIT = 300
PLAIN_TEXT_LIMIT = 75         # button labels etc.

WORKING_STATUS = "資料を確認しています…"
GREETING = ("こんにちは。市町村への支援制度（交付金、ふるさと納税、地域おこし協力隊など）について、"
            "資料をもとにお答えします。ご質問をどうぞ。")
SUGGESTED_PROMPTS: tuple[dict[str, str], ...] = (
    {"title": "地域づくり総合交付金について", "message": "地域づくり総合交付金はどのような事業に使えますか？"},
    {"title": "地域おこし協力隊の定住支援", "message": "地域おこし協力隊の定住に向けた支援はありますか？"},
    {"title": "特定地域づくり事業協同組合", "message": "特定地域づくり事業協同組合の設立を支援してもらえますか？"},
)

BARE_MENTION_TEXT = ("ご用件をどうぞ。メンションに続けてご質問を書いてください"
                     "（例: `@相談アシスタント 地域おこし協力隊の定住支援はありますか？`）。")

MODE_NOTES = {
    "llm": "🤖 AI が資料をもとに作成した回答です。正確な内容は出典でご確認ください。",
    "extractive": "📄 資料の該当箇所の抜粋です（AI による要約ではありません）。",
    "none": "⚠️ 資料から十分な根拠が見つかりませんでした。",
}
# The declined answer text already says that staff were told (bot.answering.messages.DECLINE_TEXT,
# no 「職員に相談する」 button then): the note only says where they will reply.
NOT_ANSWERED_HINT = "担当職員からは、このスレッドでご連絡します。"
# feedback_buttons: (text, accessibility_label); both at most 75 characters.
FEEDBACK_LABELS: dict[Polarity, tuple[str, str]] = {
    "up": ("役に立った", "この回答は役に立った"),
    "down": ("役に立たなかった", "この回答は役に立たなかった"),
}


@dataclass
class SlackMessage:
    """One chat.postMessage worth of content."""

    text: str                                   # notification / accessibility fallback
    blocks: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- text helpers
def escape(text: str | None) -> str:
    """Escape Slack's control characters so text is shown, never interpreted."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_mrkdwn(answer: Answer) -> str:
    """The answer text as escaped mrkdwn; only links the cited passages contain stay links
    (`bot.answering.links` is the rule; everything else is shown as plain, defanged text)."""
    out = []
    for seg in links.answer_segments(answer):
        if isinstance(seg, links.Text):
            out.append(escape(seg.text))
        elif seg.allowed:
            target = escape(links.href(seg)).replace("|", "%7C")
            label = escape(seg.label or seg.url).replace("|", "｜")
            out.append(f"<{target}|{label}>")
        else:
            out.append(escape(links.plain_text([seg])))
    return "".join(out)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split (already escaped) text into pieces of at most `limit` characters.

    Prefers paragraph, then line, then sentence boundaries; never cuts an `&amp;`-style entity
    or a `<url|label>` link.
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for sep in ("\n\n", "\n", "。", "、", " "):
            pos = window.rfind(sep)
            if pos >= limit // 3:
                cut = pos + len(sep)
                break
        if cut <= 0:
            cut = limit
            amp = window.rfind("&", max(0, limit - 6))
            if amp != -1 and ";" not in window[amp:]:
                cut = amp
        opened = rest.rfind("<", 0, cut)
        if opened > rest.rfind(">", 0, cut) and opened > 0:
            cut = opened                          # never cut inside a `<url|label>` link
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces.append(rest)
    return pieces


def mrkdwn_section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def context_block(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value,
                              "text": {"type": "plain_text", "text": text, "emoji": True}}
    if style:
        button["style"] = style
    return button


# ---------------------------------------------------------------- sources
def source_label(p: Passage) -> str:
    """`title › section › …（p. 3）` escaped for mrkdwn."""
    parts = [p.title or p.source]
    if p.section:
        parts.extend(s.strip() for s in p.section.replace("›", ">").split(">") if s.strip())
    # Drop a section equal to the title (documents whose first heading is the title).
    label_parts = [parts[0]] + [s for s in parts[1:] if s != parts[0]]
    label = " › ".join(escape(s) for s in label_parts)
    if p.page:
        label += f"（p. {p.page}）"
    return label


def source_lines(sources: Sequence[Passage]) -> list[str]:
    return [f"[{n}] {source_label(p)}" for n, p in enumerate(sources, start=1)]


def source_blocks(sources: Sequence[Passage]) -> list[dict[str, Any]]:
    if not sources:
        return []
    lines = source_lines(sources)
    text = "*出典*\n" + "\n".join(lines)
    return [mrkdwn_section(chunk) for chunk in split_text(text)]


# ---------------------------------------------------------------- answer message
def mode_note(answer: Answer) -> str:
    if not answer.answered:
        return MODE_NOTES["none"]
    # Why an extractive answer replaced the AI answer is said in the answer text itself.
    return MODE_NOTES.get(answer.mode, "")


def feedback_block(case_id: int, turn_id: int) -> dict[str, Any]:
    """👍 / 👎 on one answer: Slack's `feedback_buttons` in a `context_actions` block.

    Both buttons share one action id; the clicked button's value says which it was
    (`FeedbackValue.encode()`, parsed back by `incoming.parse_feedback_value`).
    """
    def button(polarity: Polarity) -> dict[str, Any]:
        label, accessibility_label = FEEDBACK_LABELS[polarity]
        return {"text": {"type": "plain_text", "text": label},
                "accessibility_label": accessibility_label,
                "value": FeedbackValue(polarity, case_id, turn_id).encode()}

    return {"type": "context_actions", "block_id": ids.ANSWER_FEEDBACK_BLOCK,
            "elements": [{"type": "feedback_buttons", "action_id": ids.FEEDBACK,
                          "positive_button": button("up"), "negative_button": button("down")}]}


def action_blocks(result: ConsultResult) -> list[dict[str, Any]]:
    """「職員に相談する」 and the 👍 / 👎 feedback buttons (only when the consultation was logged)."""
    if result.case_id is None:
        return []
    out = []
    if result.answer.answered:   # a declined answer was already handed to staff by the service
        out.append({"type": "actions", "block_id": ids.ANSWER_ACTIONS_BLOCK,
                    "elements": [_button("職員に相談する", ids.ESCALATE, str(result.case_id),
                                         style="primary")]})
    if result.turn_id is not None:
        out.append(feedback_block(result.case_id, result.turn_id))
    return out


def info_blocks(result: ConsultResult) -> list[dict[str, Any]]:
    """Sources and notes (case reference, masked personal data) below the answer text."""
    blocks = source_blocks(result.answer.sources)
    notes = []
    if not result.answer.answered:
        notes.append(NOT_ANSWERED_HINT)
    if result.case_ref:
        notes.append(f"相談番号: {escape(result.case_ref)}")
    if result.pii_kinds:
        notes.append("ご質問に含まれていた個人情報と思われる部分は、記録する前に伏せました。")
    if notes:
        blocks.append(context_block("　".join(notes)))
    return blocks


def answer_fallback_text(answer: Answer) -> str:
    text = truncate(escape(links.answer_plain_text(answer)).strip(), FALLBACK_TEXT_LIMIT)
    if answer.sources:
        text += f"（出典 {len(answer.sources)} 件）"
    return text or "回答をお送りしました。"


def answer_messages(result: ConsultResult) -> list[SlackMessage]:
    """The answer as one message, or several when it exceeds 50 blocks (buttons on the last)."""
    answer = result.answer
    body: list[dict[str, Any]] = []
    note = mode_note(answer)
    if note:
        body.append(context_block(note))
    body += [mrkdwn_section(chunk) for chunk in split_text(answer_mrkdwn(answer))]
    chunks = _chunks(body + info_blocks(result), action_blocks(result), MAX_BLOCKS)
    fallback = answer_fallback_text(answer)
    messages = [SlackMessage(text=fallback, blocks=chunk) for chunk in chunks]
    for i, msg in enumerate(messages[1:], start=2):
        msg.text = f"（続き {i}/{len(messages)}）"
    return messages


def stream_final_blocks(result: ConsultResult) -> list[dict[str, Any]]:
    """Blocks appended under a streamed answer by chat.stopStream (≤ 50)."""
    note = mode_note(result.answer)
    blocks = ([context_block(note)] if note else []) + info_blocks(result) + action_blocks(result)
    return blocks[-MAX_BLOCKS:]


def _chunks(items: list[dict[str, Any]], tail: list[dict[str, Any]],
            size: int) -> list[list[dict[str, Any]]]:
    """`items + tail` in pieces of at most `size` blocks; the tail (buttons) stays in the last."""
    chunks = [items[start:start + size] for start in range(0, len(items), size)] or [[]]
    overflow = len(chunks[-1]) + len(tail) - size
    if overflow > 0:             # the last blocks move on with the buttons (never alone)
        chunks.append(chunks[-1][-overflow:])
        del chunks[-2][-overflow:]
    chunks[-1] = chunks[-1] + tail
    return chunks


# ---------------------------------------------------------------- short replies
def error_message(user_message: str) -> SlackMessage:
    return SlackMessage(text=user_message, blocks=[mrkdwn_section(escape(user_message))])


def command_usage_text() -> str:
    return "使い方: `/consult 質問内容` の形式でご質問ください（例: `/consult 地域おこし協力隊の定住支援は？`）。"


def command_receipt_text() -> str:
    return "ご相談を受け付けました。資料を確認のうえ、ボットとのダイレクトメッセージのスレッドでお答えします。"


def command_failed_text() -> str:
    return ("申し訳ありません。ボットとのダイレクトメッセージを開けなかったため、回答をお送りできませんでした。"
            "お手数ですが、ボットに直接メッセージでご質問ください。")


def command_root_message(question: str) -> SlackMessage:
    text = f"ご相談を受け付けました。\n>{escape(truncate(question, 2500))}"
    return SlackMessage(text="ご相談を受け付けました。", blocks=[mrkdwn_section(text)])


def escalated_text(case_ref: str | None) -> str:
    ref = f"（{escape(case_ref)}）" if case_ref else ""
    return (f"担当職員にご相談内容{ref}をお伝えしました。職員からこのスレッドでご連絡しますので、"
            "しばらくお待ちください。")


def already_escalated_text(case_ref: str | None) -> str:
    ref = f"{escape(case_ref)} は" if case_ref else "このご相談は"
    return f"{ref}すでに担当職員にお伝えしています。職員からのご連絡をお待ちください。"


def feedback_thanks_text(value: str) -> str:
    if value == "up":
        return "ご評価ありがとうございます。今後の回答の改善に活用します。"
    return ("ご評価ありがとうございます。回答が十分でなかったため、担当職員にもお知らせしました。"
            "不足していた点があれば、開いた画面からお知らせください。")


def feedback_comment_thanks_text() -> str:
    return "ご意見ありがとうございます。担当職員が確認します。"


def not_your_case_text() -> str:
    return "申し訳ありません。このボタンはご相談された方のみ操作できます。"


def case_unavailable_text() -> str:
    return "申し訳ありません。この相談の記録が見つかりませんでした。お手数ですが、もう一度ご質問ください。"


def feedback_modal(case_id: int, turn_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.FEEDBACK_VIEW,
        "private_metadata": json.dumps({"case_id": case_id, "turn_id": turn_id}),
        "title": {"type": "plain_text", "text": "回答へのご意見"},
        "submit": {"type": "plain_text", "text": "送信"},
        "close": {"type": "plain_text", "text": "閉じる"},
        "blocks": [
            mrkdwn_section("回答のどの点が足りなかったか、よろしければお聞かせください（任意）。"
                            "担当職員が確認し、必要に応じてご連絡します。"),
            {"type": "input", "block_id": ids.FEEDBACK_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "不足していた点"},
             "element": {"type": "plain_text_input", "action_id": ids.FEEDBACK_INPUT,
                         "multiline": True, "max_length": 2000,
                         "placeholder": {"type": "plain_text",
                                         "text": "例: 申請期限が知りたかった、対象経費の詳細がなかった"}}},
        ],
    }


def parse_feedback_metadata(private_metadata: str) -> tuple[int, int]:
    data = json.loads(private_metadata or "{}")
    return int(data["case_id"]), int(data["turn_id"])
