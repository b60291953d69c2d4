"""Staff teams through the real Bolt app (signed deliveries, HTTP mode) and the Slack stand-in:
the card goes to the routed team's channel, staff of another team are refused politely (the
owning team named), the 「市町村・担当チーム」 modal moves a case and its card, and the officer's
municipality comes from the Slack profile's e-mail domain or their Slack Connect team."""

from __future__ import annotations

import json

import pytest

from bot.cases.views import CaseStatus, EventKind
from bot.slack import ids
from bot.slack.staff import ids as sids
from tests.slack.conftest import OFFICER, block_text, slack_env
from tests.slack.staff_fixtures import ACK_LIMIT_S, StaffWorld, wait_until
from tests.standins.signing import block_action, event_callback, mention_event, view_submission
from tests.teams.conftest import (ADMIN, HONCHO_CH, SOYA_CH, SOYA_MEMBER, SOYA_STAFF, TEAMS_YAML,
                                  TOKACHI_CH, TOKACHI_STAFF)

MAIL_OFFICER = "W0MAIL"        # 稚内市 by the e-mail domain of the Slack profile
CONNECT_OFFICER = "W0CONNECT"  # 倶知安町 by the Slack team of a Slack Connect workspace
MAPPING = "slack_id,municipality\ncity.wakkanai.lg.jp,稚内市\nT0KUTCHAN,北海道虻田郡倶知安町\n"


@pytest.fixture
def make_team_world(make_settings, indexed_settings, slack_api, start_bot, tmp_path):
    """make_team_world(answers=False): the bot with the test teams file and a mapping file;
    ``answers=True`` starts it on the bundled index (real answers)."""
    return lambda answers=False: _world(make_settings, indexed_settings, slack_api, start_bot,
                                        tmp_path, answers)


@pytest.fixture
def team_world(make_team_world):
    return make_team_world()


def _world(make_settings, indexed_settings, slack_api, start_bot, tmp_path, answers):
    teams = tmp_path / "teams.yml"
    teams.write_text(TEAMS_YAML, encoding="utf-8")
    mapping = tmp_path / "map.csv"
    mapping.write_text(MAPPING, encoding="utf-8")
    slack_api.set_members(SOYA_CH, [SOYA_MEMBER, "UBOT"])
    for channel in (TOKACHI_CH, HONCHO_CH, "C0FURUSATO"):
        slack_api.set_members(channel, ["UBOT"])
    slack_api.add_user(MAIL_OFFICER, real_name="稚内 太郎", email="taro@soumu.city.wakkanai.lg.jp")
    slack_api.add_user(CONNECT_OFFICER, real_name="倶知安 花子", team_id="T0KUTCHAN",
                       email="hanako@example.jp")
    factory = indexed_settings if answers else make_settings
    settings = factory(**slack_env(slack_api, CONSULT_TEAMS_FILE=str(teams),
                                   CONSULT_MUNICIPALITY_MAP=str(mapping)))
    return StaffWorld(start_bot(settings))


def escalated_in(world: StaffWorld, municipality: str, channel: str):
    """(case, thread ts, card ts): an answered consultation escalated by the officer; its card
    must arrive in ``channel``."""
    root = world.slack.seed_message("C0OFFICE", text="質問", user=OFFICER)
    from bot.domain import Answer, Conversation, Requester

    conv = Conversation(kind="slack", workspace="T111", channel="C0OFFICE", thread_ts=root)
    case, _ = world.store.add_turn(conv, Requester(OFFICER, "相談 太郎", municipality), "質問",
                                   Answer(text="回答 [1]", answered=True, mode="extractive"))
    resp = world.bot.deliver.post_interaction(block_action(
        ids.ESCALATE, str(case.id), user=OFFICER, channel="C0OFFICE", message_ts=root,
        thread_ts=root))
    assert resp.status == 200
    card = world.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == channel
                                and f"相談#{case.id}" in c.params.get("text", ""))
    world.bot.idle()
    return world.store.get_case(case.id), root, card


def cards_of(world: StaffWorld, case_id: int) -> list:
    return [c for c in world.slack.ok_calls("chat.postMessage")
            if c.params.get("channel", "").startswith("C0") and c.params.get("channel") != "C0OFFICE"
            and c.params.get("text", "").startswith(f"相談#{case_id}")]


def test_card_in_the_teams_channel_and_refusals_for_another_team(team_world):
    world = team_world
    case, root, card = escalated_in(world, "稚内市", SOYA_CH)
    assert case.team == "soya"
    assert [c.params["channel"] for c in cards_of(world, case.id)] == [SOYA_CH]   # only there
    text = block_text(card.params)
    assert "担当チーム" in json.dumps(card.params["blocks"], ensure_ascii=False)
    assert "宗谷総合振興局 地域創生課" in json.dumps(card.params["blocks"], ensure_ascii=False)
    buttons = [e["action_id"] for b in card.params["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert sids.STAFF_ROUTING in buttons and text

    card_ts = card.response["ts"]
    world.click(sids.STAFF_ASSIGN, case.id, user=TOKACHI_STAFF, card_ts=card_ts, channel=SOYA_CH)
    refusal = world.slack.wait_for("chat.postEphemeral",
                                   lambda c: c.params.get("user") == TOKACHI_STAFF).params["text"]
    assert refusal.startswith(f"申し訳ありません。{case.ref} は「宗谷総合振興局 地域創生課」の担当のため")
    # the reply modal is refused before anything is typed
    opened = len(world.slack.ok_calls("views.open"))
    world.click(sids.STAFF_REPLY, case.id, user=TOKACHI_STAFF, card_ts=card_ts, channel=SOYA_CH)
    world.slack.wait_for("chat.postEphemeral", lambda c: c.params.get("user") == TOKACHI_STAFF,
                         count=2)
    world.bot.idle()
    assert len(world.slack.ok_calls("views.open")) == opened
    after = world.store.get_case(case.id)
    assert after.status == CaseStatus.NEEDS_STAFF and after.assignee is None

    # a member of 宗谷's channel takes it; the administrators' team may act too
    world.click(sids.STAFF_ASSIGN, case.id, user=SOYA_MEMBER, card_ts=card_ts, channel=SOYA_CH)
    wait_until(lambda: world.store.get_case(case.id).assignee == SOYA_MEMBER, what="taken")
    world.note(case.id, "管理者のメモ", user=ADMIN, card_ts=card_ts)
    wait_until(lambda: any(e.kind == EventKind.NOTE and e.actor == ADMIN
                           for e in world.store.case_detail(case.id).events), what="admin note")


def submit_routing(world: StaffWorld, case_id: int, user: str, card_ts: str, *,
                   municipality: str, team: str | None, note: str = ""):
    view = world.open_modal(sids.STAFF_ROUTING, case_id, user=user, card_ts=card_ts)
    assert view["callback_id"] == sids.STAFF_ROUTING_VIEW
    values = {sids.MUNICIPALITY_BLOCK: {sids.MUNICIPALITY_INPUT: {"type": "plain_text_input",
                                                                  "value": municipality}},
              sids.TEAM_BLOCK: {sids.TEAM_INPUT: {"type": "static_select",
                                                   "selected_option": {"value": team} if team else None}},
              sids.TRANSFER_NOTE_BLOCK: {sids.TRANSFER_NOTE_INPUT: {"type": "plain_text_input",
                                                                     "value": note}}}
    payload = view_submission(sids.STAFF_ROUTING_VIEW, values,
                              private_metadata=view["private_metadata"], user=user)
    resp = world.bot.deliver.post_interaction(payload)
    assert resp.status == 200 and resp.elapsed < ACK_LIMIT_S
    return view, resp


def test_transfer_moves_the_card(team_world):
    world = team_world
    case, root, card = escalated_in(world, "稚内市", SOYA_CH)
    card_ts = card.response["ts"]
    world.click(sids.STAFF_ASSIGN, case.id, user=SOYA_STAFF, card_ts=card_ts, channel=SOYA_CH)
    wait_until(lambda: world.store.get_case(case.id).assignee == SOYA_STAFF, what="taken")

    view, resp = submit_routing(world, case.id, SOYA_STAFF, card_ts, municipality="わっかなし",
                                team="tokachi")
    errors = json.loads(resp.body)["errors"]
    assert "もしかして「稚内市」" in errors[sids.MUNICIPALITY_BLOCK]   # shown under the field
    select = next(b for b in view["blocks"] if b.get("block_id") == sids.TEAM_BLOCK)["element"]
    assert select["initial_option"]["value"] == "soya"
    assert {o["value"] for o in select["options"]} == {"soya", "tokachi", "furusato", "honcho"}
    assert world.store.get_case(case.id).team == "soya"          # nothing changed

    submit_routing(world, case.id, SOYA_STAFF, card_ts, municipality="北海道河西郡芽室町",
                   team="tokachi", note="十勝の案件です")
    new_card = world.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == TOKACHI_CH
                                    and c.params.get("text", "").startswith(case.ref))
    moved = world.slack.wait_for("chat.update", lambda c: c.params.get("ts") == card_ts
                                 and "移りました" in json.dumps(c.params, ensure_ascii=False))
    wait_until(lambda: world.store.get_case(case.id).staff_message_ts == new_card.response["ts"],
               what="the new card remembered")       # (the listener thread stores it after posting)
    assert not any(b["type"] == "actions" for b in moved.params["blocks"])   # no buttons left
    assert "「十勝総合振興局 地域創生課」" in json.dumps(moved.params["blocks"], ensure_ascii=False)
    after = world.store.get_case(case.id)
    assert (after.team, after.municipality, after.status, after.assignee) == \
        ("tokachi", "芽室町", CaseStatus.NEEDS_STAFF, None)
    assert (after.staff_channel, after.staff_message_ts) == (TOKACHI_CH, new_card.response["ts"])
    kinds = [e.kind for e in world.store.case_detail(case.id).events]
    assert kinds[-2:] == [EventKind.MUNICIPALITY, EventKind.TRANSFERRED]
    said = world.slack.wait_for("chat.postEphemeral", lambda c: c.params.get("user") == SOYA_STAFF
                                and "移しました" in c.params.get("text", "")).params["text"]
    assert kinds.count(EventKind.TRANSFERRED) == 1
    assert "芽室町" in said and "十勝総合振興局 地域創生課" in said
    # the old card's buttons are gone; a stale click from 宗谷 is refused, naming 十勝
    world.click(sids.STAFF_ASSIGN, case.id, user=SOYA_STAFF, card_ts=card_ts, channel=SOYA_CH)
    refusal = world.slack.wait_for("chat.postEphemeral", lambda c: c.params.get("user") == SOYA_STAFF
                                   and "担当のため" in c.params.get("text", "")).params["text"]
    assert "「十勝総合振興局 地域創生課」の担当" in refusal
    world.click(sids.STAFF_ASSIGN, case.id, user=TOKACHI_STAFF, card_ts=new_card.response["ts"],
                channel=TOKACHI_CH)
    wait_until(lambda: world.store.get_case(case.id).assignee == TOKACHI_STAFF, what="taken by 十勝")


def test_municipality_from_the_email_domain_and_the_slack_connect_team(make_team_world):
    world = make_team_world(answers=True)
    for user, channel, municipality, team_channel in (
            (MAIL_OFFICER, "C0WAKKANAI", "稚内市", SOYA_CH),
            (CONNECT_OFFICER, "C0SHARED", "倶知安町", HONCHO_CH)):   # 後志 has no team: default
        ev = mention_event("今日の札幌の天気を教えてください", user=user, channel=channel)
        assert world.bot.deliver.post_event(event_callback(ev)).status == 200
        world.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                             timeout=60)
        world.bot.idle()
        case = world.store.cases_for_requester(user)[0]
        assert case.municipality == municipality, user
        if case.status == CaseStatus.NEEDS_STAFF:       # the bot declined: routed to the team
            world.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == team_channel
                                 and c.params.get("text", "").startswith(case.ref))
    looked_up = {c.params.get("user") for c in world.slack.ok_calls("users.info")}
    assert {MAIL_OFFICER, CONNECT_OFFICER} <= looked_up


def test_app_home_lists_the_members_team_first(team_world):
    world = team_world
    soya, _, _ = escalated_in(world, "稚内市", SOYA_CH)
    tokachi, _, _ = escalated_in(world, "帯広市", TOKACHI_CH)
    home = world.home_opened(TOKACHI_STAFF).params["view"]
    text = json.dumps(home["blocks"], ensure_ascii=False)
    assert "あなたのチーム：*十勝総合振興局 地域創生課*　職員対応待ち *1* 件" in text
    assert text.index(f"*{tokachi.ref}*") < text.index(f"*{soya.ref}*")      # own team first
    assert "チーム：宗谷総合振興局 地域創生課" in text
    home = world.home_opened(SOYA_STAFF).params["view"]
    text = json.dumps(home["blocks"], ensure_ascii=False)
    assert text.index(f"*{soya.ref}*") < text.index(f"*{tokachi.ref}*")


def test_app_home_team_picker_switches_the_team_shown_first(team_world):
    """The App Home team picker: another team's cases first, or all teams by waiting time; the
    pick is kept when App Home is opened again (the published view's private_metadata)."""
    world = team_world
    tokachi, _, _ = escalated_in(world, "帯広市", TOKACHI_CH)
    soya, _, _ = escalated_in(world, "稚内市", SOYA_CH)
    home = world.home_opened(TOKACHI_STAFF).params["view"]
    picker = next(b["accessory"] for b in home["blocks"] if b.get("block_id") == "staff_home_team")
    assert picker["action_id"] == sids.HOME_TEAM
    assert picker["initial_option"]["value"] == "tokachi"
    labels = [o["text"]["text"] for o in picker["options"]]
    assert "十勝総合振興局 地域創生課（自分のチーム）" in labels and labels[-1] == "すべてのチーム"

    def pick(value: str) -> dict:
        before = len(world.slack.ok_calls("views.publish"))
        payload = block_action(sids.HOME_TEAM, "", user=TOKACHI_STAFF, channel="")
        payload.pop("channel"), payload.pop("message")
        payload["container"] = {"type": "view", "view_id": "VHOME"}
        payload["actions"][0].update(type="static_select", selected_option={"value": value})
        assert world.bot.deliver.post_interaction(payload).status == 200
        return world.slack.wait_for("views.publish", lambda c: c.params.get("user_id") == TOKACHI_STAFF,
                                    count=before + 1).params["view"]

    other = pick("soya")
    text = json.dumps(other["blocks"], ensure_ascii=False)
    assert "表示中のチーム：*宗谷総合振興局 地域創生課*　職員対応待ち *1* 件" in text
    assert text.index(f"*{soya.ref}*") < text.index(f"*{tokachi.ref}*")
    # opening App Home again keeps the pick (Slack sends the published view with the event)
    before = len(world.slack.ok_calls("views.publish"))
    ev = {"type": "app_home_opened", "user": TOKACHI_STAFF, "channel": "D1", "tab": "home",
          "event_ts": "1.1", "view": {"type": "home", "private_metadata": other["private_metadata"]}}
    assert world.bot.deliver.post_event(event_callback(ev)).status == 200
    again = world.slack.wait_for("views.publish", lambda c: c.params.get("user_id") == TOKACHI_STAFF,
                                 count=before + 1).params["view"]
    assert "表示中のチーム：*宗谷総合振興局 地域創生課*" in json.dumps(again["blocks"], ensure_ascii=False)

    everyone = pick("all")
    text = json.dumps(everyone["blocks"], ensure_ascii=False)
    assert "すべてのチームの相談を、待ち時間の長い順に表示しています。" in text
    assert text.index(f"*{tokachi.ref}*") < text.index(f"*{soya.ref}*")     # oldest first
    back = pick("tokachi")
    assert "あなたのチーム：*十勝総合振興局 地域創生課*" in json.dumps(back["blocks"], ensure_ascii=False)
