"""The reply and internal-note modals of the staff surfaces (pure builders) and the helpers that
read their submissions back."""

from __future__ import annotations

import json

from bot.slack.staff import ids
from bot.slack.staff.model import MODAL_TEXT_MAX, StaffCase, escape, truncate, user_ref
from bot.slack.staff.parts import context, quote, section


def _metadata(case: StaffCase, origin_channel: str | None) -> str:
    return json.dumps({"case_id": case.case_id, "channel": origin_channel}, separators=(",", ":"))


def parse_metadata(private_metadata: str | None) -> tuple[int | None, str | None]:
    """(case_id, origin channel) from a modal's private_metadata; (None, None) when unreadable."""
    try:
        data = json.loads(private_metadata or "")
        return int(data["case_id"]), data.get("channel")
    except (ValueError, TypeError, KeyError):
        return None, None


def _modalcontext(case: StaffCase) -> dict:
    question = escape(truncate(case.question.strip(), 500)) or "（質問の記録がありません）"
    who = user_ref(case.requester_id, case.requester_name)
    place = f"（{escape(case.municipality)}）" if case.municipality else ""
    return section(f"*{escape(case.ref)}*　{who}{place}\n{quote(question)}")


def _text_modal(case: StaffCase, origin_channel: str | None, *, callback_id: str, title: str,
                submit: str, block_id: str, label: str, action_id: str, placeholder: str,
                note: str, initial: str | None = None) -> dict:
    """A modal with the case summary, one multi-line text input (prefilled with `initial`) and a
    short explanation."""
    element = {"type": "plain_text_input", "action_id": action_id, "multiline": True,
               "max_length": MODAL_TEXT_MAX,
               "placeholder": {"type": "plain_text", "text": placeholder}}
    if initial:
        element["initial_value"] = initial[:MODAL_TEXT_MAX]
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": _metadata(case, origin_channel),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "キャンセル"},
        "blocks": [
            _modalcontext(case),
            {"type": "input", "block_id": block_id,
             "label": {"type": "plain_text", "text": label}, "element": element},
            context(note),
        ],
    }


def build_reply_modal(case: StaffCase, origin_channel: str | None = None,
                      initial: str | None = None) -> dict:
    """Modal where a staff member writes the reply posted into the officer's thread (`initial`:
    an earlier staff answer to start from)."""
    note = ("送信すると、相談者のスレッドに「あなたの名前（担当職員）より」として投稿され、"
            "相談の記録にも残ります。")
    if not case.slack_thread:
        note = "この相談は Slack 以外で受け付けたため、回答は相談の記録にのみ残ります。"
    return _text_modal(case, origin_channel, callback_id=ids.STAFF_REPLY_VIEW,
                       title="相談者に回答する", submit="送信する", block_id=ids.REPLY_BLOCK,
                       label="回答", action_id=ids.REPLY_INPUT,
                       placeholder="相談者への回答を入力してください", note=note,
                       initial=initial)


def build_note_modal(case: StaffCase, origin_channel: str | None = None) -> dict:
    """Modal for an internal note; the note is shown to staff only, never to the officer."""
    return _text_modal(case, origin_channel, callback_id=ids.STAFF_NOTE_VIEW,
                       title="内部メモを追加", submit="保存する", block_id=ids.NOTE_BLOCK,
                       label="メモ", action_id=ids.NOTE_INPUT,
                       placeholder="職員間で共有する内容を入力してください",
                       note="🔒 内部メモは職員にのみ表示され、相談者には一切表示されません。")


def modal_input(view: dict, block_id: str, action_id: str) -> str:
    """The text typed into a modal input (stripped; '' when empty or missing)."""
    values = ((view or {}).get("state") or {}).get("values") or {}
    value = (values.get(block_id) or {}).get(action_id) or {}
    return (value.get("value") or "").strip()


def build_routing_modal(case: StaffCase, teams: list[tuple[str, str]], current_team: str | None,
                        origin_channel: str | None = None) -> dict:
    """「市町村・担当チーム」 (teams file only): correct the officer's municipality (typed names
    are normalised: わっかない, 北海道宗谷郡猿払村, 012149) and/or move the case to another team.
    ``teams`` are (id, name) pairs; ``current_team`` the owning team's id."""
    options = [{"text": {"type": "plain_text", "text": truncate(name, 75)}, "value": team_id}
               for team_id, name in teams[:100]]
    select: dict = {"type": "static_select", "action_id": ids.TEAM_INPUT, "options": options}
    current = next((o for o in options if o["value"] == current_team), None)
    if current is not None:
        select["initial_option"] = current
    municipality: dict = {"type": "plain_text_input", "action_id": ids.MUNICIPALITY_INPUT,
                          "max_length": 128,
                          "placeholder": {"type": "plain_text", "text": "例: 稚内市、わっかない、012149"}}
    if case.municipality:
        municipality["initial_value"] = case.municipality
    return {
        "type": "modal",
        "callback_id": ids.STAFF_ROUTING_VIEW,
        "private_metadata": _metadata(case, origin_channel),
        "title": {"type": "plain_text", "text": "市町村・担当チーム"},
        "submit": {"type": "plain_text", "text": "変更する"},
        "close": {"type": "plain_text", "text": "キャンセル"},
        "blocks": [
            _modalcontext(case),
            {"type": "input", "block_id": ids.MUNICIPALITY_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "相談者の市町村"},
             "hint": {"type": "plain_text",
                      "text": "市町村名・よみがな・団体コードで入力できます（空欄にすると未設定に戻します）。"},
             "element": municipality},
            {"type": "input", "block_id": ids.TEAM_BLOCK,
             "label": {"type": "plain_text", "text": "担当チーム"}, "element": select},
            {"type": "input", "block_id": ids.TRANSFER_NOTE_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "チームを変更する理由（任意・内部用）"},
             "element": {"type": "plain_text_input", "action_id": ids.TRANSFER_NOTE_INPUT,
                         "multiline": True, "max_length": 500}},
            context("担当チームを変更すると、相談カードは移管先のチャンネルに移り、"
                    "職員対応待ちに戻ります（元のカードには移管先が表示されます）。"),
        ],
    }


def selected_option(view: dict, block_id: str, action_id: str) -> str | None:
    """The value of a static_select in a submitted modal (None when nothing is selected)."""
    values = ((view or {}).get("state") or {}).get("values") or {}
    option = ((values.get(block_id) or {}).get(action_id) or {}).get("selected_option") or {}
    return option.get("value")
