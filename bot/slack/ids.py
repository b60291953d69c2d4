"""Action ids, view callback ids and block ids of the officer surfaces (one constant each).

The staff surfaces keep theirs in `bot.slack.staff.ids`.
Button values carry the database ids: feedback `"{up|down}:{case_id}:{turn_id}"`
(`incoming.FeedbackValue`), escalation `"{case_id}"`.
"""

from __future__ import annotations

# Answer message: 👍 / 👎 (one feedback_buttons element in a context_actions block) and
# 「職員に相談する」 (an ordinary button in an actions block).
FEEDBACK = "consult_feedback"
ANSWER_FEEDBACK_BLOCK = "consult_answer_feedback"
ESCALATE = "consult_escalate"
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
