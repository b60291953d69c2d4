"""Action ids, view callback ids and input ids of the staff surfaces (staff channel card, modals,
staff App Home). The officer surfaces keep theirs in `bot.slack.ids`.

Every staff button carries the case id (database primary key, as a string) in its `value`.
"""

from __future__ import annotations

# Buttons on the staff card and in the staff App Home queue.
STAFF_ASSIGN = "staff_case_assign"        # 「担当する」
STAFF_REPLY = "staff_case_reply"          # 「回答する」 -> opens the reply modal
STAFF_NOTE = "staff_case_note"            # 「メモ」 -> opens the internal-note modal
STAFF_RESOLVE = "staff_case_resolve"      # 「解決済み」

STAFF_FAQ = "staff_case_faq"              # 「FAQにする」 (resolved case with a staff reply) -> modal
# 「この回答を使う」 under a similar case on the card: value "<case id>|case:12" / "<case id>|faq:3"
STAFF_USE_ANSWER = "staff_case_use_answer"

STAFF_ACTION_IDS = (STAFF_ASSIGN, STAFF_REPLY, STAFF_NOTE, STAFF_RESOLVE, STAFF_FAQ,
                    STAFF_USE_ANSWER)
# 「市町村・担当チーム」 (teams file only) -> the routing modal: correct the municipality and/or
# move the case to another team.
STAFF_ROUTING = "staff_case_routing"
STAFF_ROUTING_VIEW = "staff_routing_modal"
MUNICIPALITY_BLOCK = "staff_municipality_block"
MUNICIPALITY_INPUT = "staff_municipality_input"
TEAM_BLOCK = "staff_team_block"
TEAM_INPUT = "staff_team_input"
TRANSFER_NOTE_BLOCK = "staff_transfer_note_block"
TRANSFER_NOTE_INPUT = "staff_transfer_note_input"

# Modals (callback ids) and their single input (block id / action id).
STAFF_REPLY_VIEW = "staff_reply_modal"
STAFF_NOTE_VIEW = "staff_note_modal"
REPLY_BLOCK = "staff_reply_block"
REPLY_INPUT = "staff_reply_input"
NOTE_BLOCK = "staff_note_block"
NOTE_INPUT = "staff_note_input"
# The 「FAQにする」 modal: four inputs (block id = input id).
STAFF_FAQ_VIEW = "staff_faq_modal"
FAQ_QUESTION = "staff_faq_question"
FAQ_ANSWER = "staff_faq_answer"
FAQ_CATEGORY = "staff_faq_category"
FAQ_SECTION = "staff_faq_section"

SIMILAR_BLOCK = "staff_card_similar"
SIMILAR_ACTIONS_BLOCK = "staff_card_similar_actions"

# 「職員用ページを開く」 on the staff App Home (a URL button; the click republishes the home so
# the next click gets a fresh one-time link).
OPEN_CONSOLE = "staff_open_console"
# The team picker of the staff App Home (teams file only): whose queue is listed first.
HOME_TEAM = "staff_home_team"
HOME_ALL_TEAMS = "all"

# Block id of the action row on the staff card (lets tests and handlers find it).
CARD_ACTIONS_BLOCK = "staff_card_actions"
