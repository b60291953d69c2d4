"""Action ids, view callback ids and block ids of the officer surfaces (one constant each).

The staff surfaces keep theirs in `bot.slack.staff_ids`.
Button values carry the database ids: feedback `"{case_id}:{turn_id}"`, escalation `"{case_id}"`.
"""

from __future__ import annotations

# Answer message buttons.
FEEDBACK_UP = "consult_feedback_up"          # 👍
FEEDBACK_DOWN = "consult_feedback_down"      # 👎
ESCALATE = "consult_escalate"                # 「職員に相談する」
ANSWER_ACTIONS_BLOCK = "consult_answer_actions"

# 👎 modal: what was missing (optional).
FEEDBACK_VIEW = "consult_feedback_modal"
FEEDBACK_BLOCK = "consult_feedback_block"
FEEDBACK_INPUT = "consult_feedback_input"

# App Home: open a case's thread (link button; acked only).
HOME_OPEN_CASE = "consult_home_open_case"

# Slash command.
CONSULT_COMMAND = "/consult"

# Reaction added to the officer's message when work starts.
WORKING_REACTION = "eyes"
