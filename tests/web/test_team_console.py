"""Staff teams in the web console: the チーム page, the 担当チーム panel with its transfer form,
refusals for staff of another team (route tests and the real browser), and municipality
correction with typed names."""

from __future__ import annotations

import pytest

from bot.cases.views import CaseStatus, EventKind
from tests.teams.conftest import (ADMIN, SOYA_CH, SOYA_MEMBER, SOYA_STAFF, TEAMS_YAML, TOKACHI_CH,
                                  TOKACHI_STAFF)
from tests.web.conftest import csrf_of, make_world
from tests.web.test_browser import shot


@pytest.fixture
def console(tmp_path, slack_api):
    """The console world with the test teams file (overrides tests/web/conftest's ``console``,
    so ``live_console`` and ``signed_in_page`` serve this one)."""
    teams = tmp_path / "teams.yml"
    teams.write_text(TEAMS_YAML, encoding="utf-8")
    slack_api.set_members(SOYA_CH, [SOYA_MEMBER, "UBOT"])
    slack_api.set_members(TOKACHI_CH, ["UBOT"])
    for user, name in ((SOYA_STAFF, "宗谷 一郎"), (TOKACHI_STAFF, "十勝 花子"), (ADMIN, "本庁 次郎")):
        slack_api.add_user(user, real_name=name)
    world = make_world(tmp_path, slack_api, CONSULT_TEAMS_FILE=str(teams))
    yield world
    for client in world.clients:
        client.close()
    world.store.close()


def test_the_teams_page(console):
    page = console.client(TOKACHI_STAFF).get("/teams")
    assert page.status_code == 200
    html = page.text
    for name in ("宗谷総合振興局 地域創生課", "十勝総合振興局 地域創生課", "本庁 市町村課", "本庁 地域政策課"):
        assert name in html
    assert "十勝総合振興局（19 市町村）" in html and "帯広市" in html
    assert html.count("あなたのチーム") == 1 and "事業：ふるさと納税（振興局より優先）" in html
    assert '<a href="/teams" aria-current="page">チーム</a>' in html
    assert console.client(None).get("/teams").status_code == 303          # sign in first


def test_staff_of_another_team_read_but_are_refused(console):
    case, _ = console.slack_case(municipality="稚内市")
    assert case.team == "soya"
    client = console.client(TOKACHI_STAFF)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert "この相談は「宗谷総合振興局 地域創生課」の担当です。閲覧はできますが" in page.text
    assert f'action="/cases/{case.id}/transfer"' not in page.text
    token = csrf_of(page.text)
    for path, data in (("take", {}), ("note", {"text": "十勝のメモ"}),
                       ("transfer", {"team": "tokachi"}), ("municipality", {"municipality": "帯広市"})):
        resp = client.post(f"/cases/{case.id}/{path}", data={"csrf_token": token, **data})
        assert resp.status_code == 403, path
        assert f"{case.ref} は「宗谷総合振興局 地域創生課」の担当のため、操作できません" in resp.text
    after = console.store.get_case(case.id)
    assert (after.team, after.assignee, after.municipality) == ("soya", None, "稚内市")
    assert not [e for e in console.store.case_detail(case.id).events
                if e.kind in (EventKind.NOTE, EventKind.TRANSFERRED)]


def test_transfer_from_the_console_moves_the_card(console):
    case, _ = console.slack_case(municipality="稚内市")
    console.workflow.take(SOYA_MEMBER, case.id)            # its card is posted in 宗谷's channel
    first = console.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == SOYA_CH)
    client = console.client(SOYA_MEMBER)                   # staff by channel membership
    page = client.get(f"/cases/{case.id}")
    assert "担当チームを変更" in page.text and "稚内市 → 宗谷総合振興局" in page.text
    resp = client.post(f"/cases/{case.id}/transfer",
                       data={"csrf_token": csrf_of(page.text), "team": "tokachi", "text": "十勝です"})
    assert resp.status_code == 303
    after = console.store.get_case(case.id)
    assert (after.team, after.status, after.assignee) == ("tokachi", CaseStatus.NEEDS_STAFF, None)
    console.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == TOKACHI_CH
                           and c.params.get("text", "").startswith(case.ref))
    console.slack.wait_for("chat.update", lambda c: c.params.get("ts") == first.response["ts"]
                           and "移りました" in str(c.params.get("blocks")))
    shown = client.get(f"/cases/{case.id}").text
    assert "宗谷総合振興局 地域創生課」から「十勝総合振興局 地域創生課」に移しました" in shown
    assert "担当チーム変更" in shown                        # in the timeline


def test_municipality_typed_as_people_write_it(console):
    case, _ = console.slack_case(municipality=None)
    assert case.team == "honcho"
    client = console.client(ADMIN)
    page = client.get(f"/cases/{case.id}")
    ok = client.post(f"/cases/{case.id}/municipality",
                     data={"csrf_token": csrf_of(page.text), "municipality": "北海道 河西郡 芽室町"})
    assert ok.status_code == 303
    assert console.store.get_case(case.id).municipality == "芽室町"
    shown = client.get(f"/cases/{case.id}").text
    assert "この市町村は「十勝総合振興局 地域創生課」の担当です" in shown
    bad = client.post(f"/cases/{case.id}/municipality",
                      data={"csrf_token": csrf_of(shown), "municipality": "めむろちょ"})
    assert bad.status_code == 400 and "北海道の市町村として見つかりませんでした" in bad.text
    assert "芽室町" in bad.text                                     # a candidate


def test_refusal_in_the_real_browser(console, signed_in_page, tmp_path):
    case, _ = console.slack_case(municipality="稚内市")
    page = signed_in_page(TOKACHI_STAFF)
    base = page.url.split("/", 3)[:3]
    page.goto("/".join(base) + f"/cases/{case.id}")
    panel = page.get_by_role("region", name="担当チーム")
    assert "宗谷総合振興局 地域創生課" in panel.inner_text()
    assert page.get_by_role("button", name="担当する").count() == 0
    page.screenshot(path=str(tmp_path / "case-other-team.png"), full_page=True)
    page.goto("/".join(base) + "/teams")
    assert page.get_by_role("heading", name="チーム").is_visible()
    page.screenshot(path=str(tmp_path / "teams.png"), full_page=True)


def tab_counts(html: str) -> dict[str, int]:
    import re

    return {label: int(n.replace(",", "")) for label, n in re.findall(
        r'<a href="[^"]*"(?: aria-current="page")?>([^<]+)<span class="count">([\d,]+)</span>', html)}


def team_world(console):
    """稚内市 (宗谷) escalated and answered, 帯広市 (十勝), no municipality (the default team)."""
    soya, _ = console.slack_case(municipality="稚内市")
    soya_answered, _ = console.slack_case(municipality="稚内市", escalate=False)
    tokachi, _ = console.slack_case(municipality="帯広市")
    unset, _ = console.slack_case(municipality=None)
    assert (soya.team, soya_answered.team, tokachi.team, unset.team) == ("soya", None, "tokachi",
                                                                         "honcho")
    return soya, soya_answered, tokachi, unset


def test_queue_filters_by_team_and_subprefecture(console):
    soya, soya_answered, tokachi, unset = team_world(console)
    client = console.client(SOYA_STAFF)
    landing = client.get("/").text
    assert "自分のチーム（宗谷総合振興局 地域創生課）の相談だけを表示する" in landing
    assert '<option value="soya">宗谷総合振興局 地域創生課（自分のチーム）</option>' in landing
    assert '<option value="宗谷">宗谷総合振興局</option>' in landing
    assert tab_counts(landing) == {"職員対応待ち": 3, "対応中": 0, "回答済み": 1, "解決済み": 0,
                                   "すべて": 4}

    mine = client.get("/?team=soya&tab=all").text
    assert f"/cases/{soya.id}\"" in mine and f"/cases/{tokachi.id}\"" not in mine
    assert f"/cases/{soya_answered.id}\"" not in mine          # never routed: the default team's
    assert tab_counts(mine) == {"職員対応待ち": 1, "対応中": 0, "回答済み": 0, "解決済み": 0, "すべて": 1}
    assert "自分のチーム（宗谷総合振興局 地域創生課）の相談を表示しています" in mine

    default = client.get("/?team=honcho&tab=all").text     # the default team owns unrouted cases
    assert f"/cases/{unset.id}\"" in default and f"/cases/{soya_answered.id}\"" in default
    assert tab_counts(default)["すべて"] == 2

    region = client.get("/?subprefecture=宗谷&tab=all").text   # by the municipality, any team
    assert f"/cases/{soya.id}\"" in region and f"/cases/{soya_answered.id}\"" in region
    assert tab_counts(region) == {"職員対応待ち": 1, "対応中": 0, "回答済み": 1, "解決済み": 0, "すべて": 2}
    both = client.get("/?subprefecture=十勝総合振興局&team=soya&tab=all").text
    assert tab_counts(both)["すべて"] == 0 and "条件に合う相談はありません" in both

    # a submitted form with empty fields redirects to the short address; bad values are explained
    short = client.get("/?team=soya&subprefecture=&q=", follow_redirects=False)
    assert short.status_code == 303 and short.headers["location"] == "/?team=soya"
    bad = client.get("/?team=nope&subprefecture=東京").text
    assert "チーム「nope」は見つからないため、条件から外しました。" in bad
    assert "振興局「東京」は見つからないため、条件から外しました。" in bad

    export = client.get("/export?team=soya&subprefecture=宗谷&tab=all").text
    assert "チーム: 宗谷総合振興局 地域創生課" in export and "振興局: 宗谷総合振興局" in export
    assert 'name="team" value="soya"' in export and 'name="subprefecture" value="宗谷"' in export
    csv_text = client.get("/export/download?team=soya&tab=all&format=csv&per=case").text
    assert soya.ref in csv_text and tokachi.ref not in csv_text


def test_team_filters_in_the_real_browser(console, signed_in_page, tmp_path):
    soya, soya_answered, tokachi, unset = team_world(console)
    page = signed_in_page(SOYA_STAFF)
    base = "/".join(page.url.split("/", 3)[:3])
    page.goto(base + "/?tab=all")
    assert page.locator("table.queue tbody tr").count() == 4
    page.get_by_role("link", name="自分のチーム（宗谷総合振興局 地域創生課）の相談だけを表示する").click()
    page.wait_for_url("**team=soya*")
    assert page.locator("table.queue td.nowrap a").all_inner_texts() == [soya.ref]
    assert page.locator("nav.tabs a", has_text="すべて").locator(".count").inner_text() == "1"
    shot(page, tmp_path, "queue-own-team")

    page.locator("select[name=team]").select_option("")                # every team, one 振興局
    page.locator("select[name=subprefecture]").select_option(label="十勝総合振興局")
    page.get_by_role("button", name="絞り込む").click()
    page.wait_for_url("**subprefecture=*")
    assert "team=" not in page.url
    assert page.locator("table.queue td.nowrap a").all_inner_texts() == [tokachi.ref]
    assert page.locator("nav.tabs a", has_text="すべて").locator(".count").inner_text() == "1"
    assert page.locator("select[name=subprefecture]").input_value() == "十勝"
    page.go_back()
    assert "team=soya" in page.url
    assert page.locator("table.queue td.nowrap a").all_inner_texts() == [soya.ref]


def test_assignee_must_be_staff_of_the_owning_team(console):
    case, _ = console.slack_case(municipality="稚内市")
    client = console.client(SOYA_STAFF)
    page = client.get(f"/cases/{case.id}").text
    assert f'<option value="{ADMIN}"' in page                      # administrators may act
    assert f'<option value="{TOKACHI_STAFF}"' not in page          # another team's staff
    for assignee, words in ((TOKACHI_STAFF, "「十勝 花子」さんは 相談#1 の担当チーム（宗谷総合振興局 地域創生課）の職員ではないため"),
                            ("W0NOBODY", "「W0NOBODY」さんは職員として登録されていないため")):
        resp = client.post(f"/cases/{case.id}/assign",
                           data={"csrf_token": csrf_of(page), "assignee": assignee})
        assert resp.status_code == 400 and words.replace("相談#1", case.ref) in resp.text
    assert console.store.get_case(case.id).assignee is None
    ok = client.post(f"/cases/{case.id}/assign", data={"csrf_token": csrf_of(page), "assignee": ADMIN})
    assert ok.status_code == 303 and console.store.get_case(case.id).assignee == ADMIN
