"""The app factory: page modules found automatically, navigation without dead links, static
files, Japanese error pages, and the Slack-only variant (``console=False``)."""

from __future__ import annotations

from starlette.testclient import TestClient

from bot.web import pages
from bot.web.app import build_web_app
from bot.web.render import jst
from tests.web.conftest import STAFF


def test_every_nav_entry_leads_to_a_page_that_exists(console):
    client = console.client(STAFF)
    nav = console.app.state.nav
    assert [e.label for e in nav][:1] == ["相談一覧"]
    for entry in nav:
        resp = client.get(entry.path)
        assert resp.status_code == 200, entry
        assert f'href="{entry.path}" aria-current="page"' in resp.text
    assert all(m.router for m in pages.page_modules())


def test_static_css_and_japanese_error_pages(console):
    client = console.client(STAFF)
    css = client.get("/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "Noto Sans JP" in css.text
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "ページが見つかりません" in missing.text
    wrong = client.put("/cases/1/take")
    assert wrong.status_code == 405 and "この操作はできません" in wrong.text


def test_without_the_console_only_health_and_slack_remain(console):
    app = build_web_app(console.settings, console.services, console=False)
    client = TestClient(app, base_url="http://127.0.0.1:8080")
    assert client.get("/healthz").text == "ok"
    assert client.get("/login").status_code == 404
    assert client.get("/cases/1").status_code == 404
    assert client.post("/slack/events", content=b"{}").status_code == 404


def test_dates_are_shown_in_jst():
    from datetime import datetime, timezone

    assert jst(datetime(2026, 12, 1, 5, 5, tzinfo=timezone.utc)) == "2026-12-01 14:05"
    assert jst(None) == "—"
