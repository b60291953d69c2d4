"""Pure Block Kit builders of the knowledge loop on the staff surfaces: the similar-cases section
of the case card (with 「この回答を使う」 buttons) and the 「FAQにする」 modal. Every piece of text
from a user, a model or a document is escaped."""

from __future__ import annotations

import json

from bot.slack.staff import ids
from bot.slack.staff.model import StaffCase, escape, truncate
from bot.slack.staff.parts import button, context, quote, section

MARKS = ("①", "②", "③")
FAQ_QUESTION_MAX = 1000
FAQ_ANSWER_MAX = 3000


def similar_blocks(case: StaffCase) -> list[dict]:
    """Up to three similar resolved cases / approved FAQ entries, each with its staff answer."""
    lines = ["*類似の相談・FAQ*（参考：過去の職員の回答）"]
    buttons = []
    for mark, item in zip(MARKS, case.similar):
        kind = "解決済みの相談" if item.kind == "case" else "承認済み FAQ"
        lines.append(f"{mark} *{escape(item.label)}*（{kind}・類似度 {item.similarity:.0%}）"
                     f"\n{quote(escape(truncate(item.question.strip(), 150)))}"
                     f"\n回答：{escape(truncate(' '.join(item.answer.split()), 200))}")
        buttons.append(button(f"{mark}の回答を使う", ids.STAFF_USE_ANSWER,
                              f"{case.case_id}|{item.key}"))
    return [section("\n".join(lines), ids.SIMILAR_BLOCK),
            {"type": "actions", "block_id": ids.SIMILAR_ACTIONS_BLOCK, "elements": buttons}]


def parse_use_answer(value: str) -> tuple[int | None, str]:
    """(case id, "case:12" / "faq:3") from a 「この回答を使う」 button value."""
    raw_case, _, key = (value or "").partition("|")
    return (int(raw_case) if raw_case.strip().isdigit() else None), key.strip()


def _input(block_id: str, label: str, initial: str, *, multiline: bool, max_length: int,
           optional: bool = False, hint: str | None = None) -> dict:
    element = {"type": "plain_text_input", "action_id": block_id, "multiline": multiline,
               "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    block = {"type": "input", "block_id": block_id, "optional": optional,
             "label": {"type": "plain_text", "text": label}, "element": element}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def build_faq_modal(case: StaffCase, proposal, origin_channel: str | None = None) -> dict:
    """「FAQにする」: the draft's fields, prefilled (the officer's masked question, the staff
    answer, 分類, 該当箇所); staff generalise the question before saving."""
    metadata = json.dumps({"case_id": case.case_id, "event_id": proposal.event_id,
                           "channel": origin_channel}, separators=(",", ":"))
    return {
        "type": "modal",
        "callback_id": ids.STAFF_FAQ_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "FAQ の下書きを作成"},
        "submit": {"type": "plain_text", "text": "下書きを保存"},
        "close": {"type": "plain_text", "text": "キャンセル"},
        "blocks": [
            section(f"*{escape(case.ref)}* の職員の回答から FAQ の下書きを作ります。"
                    "質問は、どの市町村にも当てはまる一般的な表現に直してください。"),
            _input(ids.FAQ_QUESTION, "質問", proposal.question, multiline=True,
                   max_length=FAQ_QUESTION_MAX),
            _input(ids.FAQ_ANSWER, "回答", proposal.answer, multiline=True,
                   max_length=FAQ_ANSWER_MAX),
            _input(ids.FAQ_CATEGORY, "分類（事業）", proposal.category, multiline=False,
                   max_length=128, optional=True),
            _input(ids.FAQ_SECTION, "該当箇所（資料の見出し）", proposal.section, multiline=False,
                   max_length=512, optional=True, hint="例: VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金"),
            context("保存すると下書きになります。職員用ページの FAQ 画面で確認し、承認すると"
                    "ボットの回答に使われます。個人情報は保存時に伏せ字になります。"),
        ],
    }


def parse_faq_metadata(private_metadata: str | None) -> tuple[int | None, int | None, str | None]:
    try:
        data = json.loads(private_metadata or "")
        return int(data["case_id"]), int(data["event_id"]), data.get("channel")
    except (ValueError, TypeError, KeyError):
        return None, None, None
