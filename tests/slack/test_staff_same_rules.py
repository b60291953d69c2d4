"""One staff workflow: the Slack card, the web console and the CLI refuse and allow the same
actions with the same Japanese words, and trigger the same Slack effects."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.cases.views import CaseStatus
from bot.cli import app as cli_app
from bot.slack.staff import ids as sids
from bot.web.app import build_web_app
from bot.web.links import login_link
from tests.slack.conftest import BOT_TOKEN
from tests.slack.staff_fixtures import (  # noqa: F401  (staff_world is a fixture)
    OFFICE_CHANNEL, STAFF_CHANNEL, STAFF_LEAD, STAFF_MEMBER, staff_world,
)
from tests.web.conftest import csrf_of

REFUSAL = " はすでに解決済みのため、担当を設定できません。再開してから操作してください。"


def web_client(world, user: str) -> TestClient:
    app = build_web_app(world.bot.settings, world.bot.services)
    client = TestClient(app, base_url="http://127.0.0.1:8080", follow_redirects=False)
    link = urlsplit(login_link(world.bot.settings, user))
    assert client.get(f"{link.path}?{link.query}").status_code == 303
    return client


def cli(world, monkeypatch, *args: str):
    settings = world.bot.settings
    for name, value in {"CONSULT_DATA_DIR": str(settings.data_dir), "SLACK_BOT_TOKEN": BOT_TOKEN,
                        "SLACK_API_URL": settings.slack_api_url,
                        "CONSULT_STAFF_CHANNEL": STAFF_CHANNEL,
                        "CONSULT_LOCAL_OPERATOR": STAFF_LEAD}.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli_app, list(args))


def test_assigning_a_resolved_case_is_refused_everywhere(staff_world, monkeypatch):
    case, root, card_ts = staff_world.escalated()
    staff_world.bot.services.workflow.resolve(STAFF_LEAD, case.id)

    # Slack card
    staff_world.click(sids.STAFF_ASSIGN, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    slack_says = staff_world.ephemeral_to(STAFF_MEMBER).params["text"]
    # CLI (used to move the resolved case to in_progress)
    result = cli(staff_world, monkeypatch, "cases", "assign", case.ref, STAFF_MEMBER)
    # web console
    client = web_client(staff_world, STAFF_MEMBER)
    page = client.get(f"/cases/{case.id}").text
    web = client.post(f"/cases/{case.id}/take", data={"csrf_token": csrf_of(page)})

    expected = f"{case.ref}{REFUSAL}"
    assert slack_says == expected
    assert result.exit_code == 1 and expected in result.output
    assert web.status_code == 409 and expected in web.text
    after = staff_world.store.get_case(case.id)
    assert after.status == CaseStatus.RESOLVED and after.assignee is None


def test_cli_and_console_trigger_the_same_slack_effects_as_the_card(staff_world, monkeypatch):
    case, root, card_ts = staff_world.escalated()
    result = cli(staff_world, monkeypatch, "cases", "assign", case.ref, STAFF_MEMBER)
    assert result.exit_code == 0, result.output
    staff_world.slack.wait_for("chat.update", lambda c: c.params.get("ts") == card_ts
                               and "対応中" in str(c.params.get("blocks")))
    staff_world.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root
                               and f"<@{STAFF_MEMBER}>" in c.params.get("text", "")
                               and "担当いたします" in c.params.get("text", ""))
    result = cli(staff_world, monkeypatch, "cases", "reply", case.ref, "CLI からの回答です。")
    assert result.exit_code == 0 and "スレッドに回答を投稿しました" in result.output
    staff_world.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root
                               and c.params.get("text") == f"<@{STAFF_LEAD}>（担当職員）より：\nCLI からの回答です。")

    client = web_client(staff_world, STAFF_MEMBER)
    page = client.get(f"/cases/{case.id}").text
    assert client.post(f"/cases/{case.id}/resolve", data={"csrf_token": csrf_of(page)}).status_code == 303
    staff_world.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root
                               and "解決済み" in c.params.get("text", ""))
    staff_world.slack.wait_for("chat.update", lambda c: c.params.get("ts") == card_ts
                               and "✅ 解決済み" in str(c.params.get("blocks")))
    assert len(staff_world.staff_posts()) == 1          # one card, updated in place throughout
    # reopening works from the CLI too, and the card follows
    assert cli(staff_world, monkeypatch, "cases", "reopen", case.ref).exit_code == 0
    assert staff_world.store.get_case(case.id).status == CaseStatus.NEEDS_STAFF
    assert all(c.params.get("channel") in (STAFF_CHANNEL, OFFICE_CHANNEL)
               for c in staff_world.slack.ok_calls("chat.postMessage"))


def test_the_staff_app_home_opens_the_console_with_a_one_time_link(staff_world):
    view = staff_world.home_opened(STAFF_MEMBER).params["view"]
    button = next(e for b in view["blocks"] if b.get("block_id") == "staff_home_console"
                  for e in b["elements"])
    assert button["text"]["text"] == "職員用ページを開く"
    url = urlsplit(button["url"])
    assert url.path == "/login/link" and url.query.startswith("token=")
    client = TestClient(build_web_app(staff_world.bot.settings, staff_world.bot.services),
                        base_url="http://127.0.0.1:8080", follow_redirects=False)
    assert client.get(f"{url.path}?{url.query}").status_code == 303     # signed in
    assert client.get("/").status_code == 200
    # the click republishes the home, so the next click gets a fresh link
    published = len(staff_world.slack.ok_calls("views.publish"))
    staff_world.click(sids.OPEN_CONSOLE, 0, user=STAFF_MEMBER, channel=None)
    fresh = staff_world.slack.wait_for("views.publish", count=published + 1).params["view"]
    assert fresh != view and "職員用ページを開く" in str(fresh)
    # officers get no such button
    officer_view = staff_world.home_opened("W222").params["view"]
    assert "職員用ページ" not in str(officer_view)


def test_no_console_button_when_the_console_is_off(make_settings, slack_api, start_bot,
                                                    monkeypatch, tmp_path):
    """`consult serve --no-web` (CliContext.without_web) or CONSULT_WEB_ENABLED=false: App Home
    offers no 「職員用ページを開く」 button (it would lead nowhere); the queue is still there."""
    from bot.cli.context import CliContext
    from tests.slack.conftest import slack_env
    from tests.slack.staff_fixtures import StaffWorld

    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "cli-data"))
    context = CliContext()
    context.without_web()
    assert context.settings.web_enabled is False
    slack_api.set_members(STAFF_CHANNEL, [STAFF_MEMBER, "UBOT"])
    settings = make_settings(**slack_env(slack_api, CONSULT_STAFF_CHANNEL=STAFF_CHANNEL,
                                         CONSULT_WEB_ENABLED="false"))
    world = StaffWorld(start_bot(settings))
    view = world.home_opened(STAFF_MEMBER).params["view"]
    assert "相談キュー（職員用）" in str(view)
    assert "職員用ページ" not in str(view)
    assert not [b for b in view["blocks"] if b.get("block_id") == "staff_home_console"]
