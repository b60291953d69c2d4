"""Fixtures of the staff web console tests, reusable by every console page's tests.

- ``console``: a ``ConsoleWorld``: the Slack Web API stand-in (staff channel with members, an
  officer), settings, the real case store (SQLite in a fresh data dir; PostgreSQL is covered by
  the store's own tests), the one staff workflow, the FAQ service and the similar-cases finder
  (no index: FAQ entries are not synced into one), the web app, and helpers to seed cases.
- ``console.client(user)``: a Starlette TestClient signed in as ``user`` through a real one-time
  login link (``None``: not signed in).
- ``live_console``: the same app served by the real uvicorn server (``bot.web.server``) on a free
  port, for raw-socket and browser tests: ``live_console.url``.
- ``browser_page``: a Playwright page in Debian's Chromium (``/usr/bin/chromium``); skipped with
  a reason where no browser is installed, REQUIRED when ``CI_BROWSER_REQUIRED=1`` (set by .ci/run).
  ``signed_in_page(user)`` opens a login link in it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.cases.store import CaseStore
from bot.cases.views import CaseView
from bot.domain import Answer, Conversation, Passage, Requester
from bot.faq.similar import SimilarCases
from bot.services import Services, build_faq, build_workflow
from bot.web.app import build_web_app
from bot.web.links import login_link
from tests.conftest import settings_for
from tests.standins.slack_api import SlackApiStandIn

BOT_TOKEN = "xoxb-console-test-token"
STAFF_CHANNEL = "C0STAFF"
OFFICE_CHANNEL = "C0KAMIKAWA"
STAFF = "U0STAFF"           # staff by membership of the staff channel
LEAD = "U0LEAD"             # staff by CONSULT_STAFF_USERS
OUTSIDER = "W0OUTSIDE"      # neither
OFFICER = "W0OFFICER"
BASE_URL = "http://127.0.0.1:8080"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic"]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class ConsoleWorld:
    slack: SlackApiStandIn
    settings: Any
    services: Services
    app: Any
    clients: list = field(default_factory=list)

    @property
    def store(self) -> CaseStore:
        return self.services.store

    @property
    def workflow(self):
        return self.services.workflow

    # ---- cases ------------------------------------------------------------------------------
    def slack_case(self, question: str = "地域づくり総合交付金の申請期限はいつですか？", *,
                   answered: bool = True, municipality: str | None = "上川町",
                   escalate: bool = True) -> tuple[CaseView, str]:
        """A consultation in an officer's Slack thread (case, thread ts); escalated by default."""
        root = self.slack.seed_message(OFFICE_CHANNEL, text=question, user=OFFICER)
        passage = Passage(chunk_id="c1", text="申請期限は6月末とする。様式は別記のとおり。",
                          source="rules/koufukin.md", title="地域づくり総合交付金 交付要綱",
                          section="第3条 申請", page=2, doc_type="rules", score=0.9)
        answer = Answer(text="要綱第3条により、申請は6月末までです [1]。" if answered else
                        "申し訳ありません。資料には見当たりませんでした。", answered=answered,
                        mode="extractive", sources=[passage] if answered else [],
                        evidence=0.8 if answered else 0.1, model="extractive",
                        prompt_version="answer-v3", latency_ms=420)
        conv = Conversation(kind="slack", workspace="T111", channel=OFFICE_CHANNEL, thread_ts=root)
        case, _ = self.store.add_turn(conv, Requester(OFFICER, "上川 太郎", municipality),
                                      question, answer)
        if escalate and case.status == "answered":
            case = self.store.escalate(case.id, actor=OFFICER)
        return case, root

    def console_case(self, question: str = "地域政策推進事業費の対象経費は？") -> CaseView:
        conv = Conversation(kind="console", thread_ts=f"s-{question[:4]}")
        case, _ = self.store.add_turn(conv, Requester("console:taro", "taro"), question,
                                      Answer(text="資料には見当たりませんでした。", answered=False,
                                             mode="none"))
        return case

    # ---- signing in -------------------------------------------------------------------------
    def client(self, user: str | None = STAFF) -> TestClient:
        client = TestClient(self.app, base_url=BASE_URL, follow_redirects=False)
        self.clients.append(client)
        if user is not None:
            resp = client.get(login_link(self.settings, user).removeprefix(BASE_URL))
            assert resp.status_code == 303, resp.text
        return client


def console_settings(data_dir: Path, slack: SlackApiStandIn, **extra):
    return settings_for(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.url,
                        CONSULT_STAFF_CHANNEL=STAFF_CHANNEL, CONSULT_STAFF_USERS=LEAD,
                        CONSULT_WEB_BASE_URL=BASE_URL, CONSULT_LOCAL_OPERATOR="cli:operator",
                        **extra)


def make_world(tmp_path: Path, slack: SlackApiStandIn, **extra) -> ConsoleWorld:
    slack.set_members(STAFF_CHANNEL, [STAFF, "UBOT"])
    slack.add_user(STAFF, real_name="道庁 花子", display_name="hanako")
    slack.add_user(LEAD, real_name="振興局 一郎", display_name="ichiro")
    slack.add_user(OFFICER, real_name="上川 太郎", display_name="taro")
    settings = console_settings(tmp_path / "data", slack, **extra)
    store = CaseStore.from_settings(settings)
    similar = SimilarCases.from_settings(settings, store)
    workflow = build_workflow(settings, store, similar=similar)
    services = Services(settings, None, None, store, None, workflow,
                        build_faq(settings, store, workflow), None, similar)
    return ConsoleWorld(slack, settings, services, build_web_app(settings, services))


@pytest.fixture
def slack_api():
    with SlackApiStandIn(bot_user_id="UBOT", bot_id="BBOT") as stand_in:
        yield stand_in


@pytest.fixture
def console(tmp_path, slack_api):
    world = make_world(tmp_path, slack_api)
    yield world
    for client in world.clients:
        client.close()
    world.store.close()


@pytest.fixture
def live_console(console):
    """The console app under the real uvicorn server on a free port (request timeout 2 s)."""
    from bot.web.server import WebServer

    server = WebServer(console.app, host="127.0.0.1", port=0, request_timeout=2.0).start()
    yield server
    server.stop()


# ---------------------------------------------------------------------------- the real browser
def browser_required() -> bool:
    return os.environ.get("CI_BROWSER_REQUIRED") == "1"


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        if browser_required():
            raise
        pytest.skip(f"Playwright for Python is not installed ({exc})")
    if not Path(CHROMIUM).exists():
        if browser_required():
            pytest.fail(f"{CHROMIUM} is missing but CI_BROWSER_REQUIRED=1 (apt-get install chromium)")
        pytest.skip(f"no browser: {CHROMIUM} not installed (apt-get install chromium "
                    "fonts-ipafont-gothic); CI requires these tests")
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
        except Exception as exc:
            if browser_required():
                raise
            pytest.skip(f"Chromium did not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP",
                                   timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def signed_in_page(browser_page, console, live_console):
    """signed_in_page(user=STAFF) -> the browser page, signed in by a one-time login link."""

    def sign_in(user: str = STAFF):
        link = login_link(console.settings, user).replace(BASE_URL, live_console.url)
        browser_page.goto(link)
        return browser_page

    return sign_in
