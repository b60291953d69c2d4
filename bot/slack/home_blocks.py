"""Pure Block Kit builder of the officers' App Home: how to ask, then their recent consultations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from bot.slack.blocks import context_block, escape, mrkdwn_section, truncate

HOME_BLOCK_LIMIT = 100


@dataclass(frozen=True)
class HomeCase:
    ref: str
    title: str
    status_label: str
    updated: str                    # already formatted, e.g. "2026-11-28 09:30"
    link: str | None = None         # permalink to the thread, when known


def officer_home(cases: Sequence[HomeCase]) -> dict[str, Any]:
    """The officer's App Home: how to ask, then their recent consultations with status."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "市町村支援 相談アシスタント"}},
        mrkdwn_section("チャンネルでボットをメンションするか、ダイレクトメッセージ、または "
                        "`/consult 質問内容` でご相談ください。資料をもとに出典付きでお答えし、"
                        "必要に応じて担当職員におつなぎします。"),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "最近のご相談"}},
    ]
    if not cases:
        blocks.append(context_block("まだご相談はありません。"))
    for case in list(cases)[: HOME_BLOCK_LIMIT - len(blocks)]:
        title = escape(truncate(case.title or "（無題）", 150))
        if case.link:
            title = f"<{case.link}|{title}>"
        blocks.append(mrkdwn_section(
            f"*{escape(case.ref)}*　{title}\n状態: {escape(case.status_label)}　更新: {escape(case.updated)}"))
    return {"type": "home", "blocks": blocks}
