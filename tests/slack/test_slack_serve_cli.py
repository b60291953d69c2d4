"""`consult serve`: clear one-line errors for missing settings, and a real HTTP-mode process
answering a signed delivery through the Slack stand-in, stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.slack.conftest import BOT_TOKEN, SIGNING_SECRET, answers_in
from tests.standins.signing import SlackDeliveryClient, event_callback, mention_event

REPO = Path(__file__).resolve().parents[2]


def consult(args: list[str], env: dict[str, str], cwd: Path, **kw) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONSULT_", "OPENAI_"))}
    base["PYTHONPATH"] = str(REPO)
    return subprocess.Popen([sys.executable, "-m", "bot", *args], env={**base, **env}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_serve_without_tokens_prints_one_clear_line(tmp_path):
    proc = consult(["serve", "--http"], {"CONSULT_DATA_DIR": str(tmp_path / "d")}, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "SLACK_BOT_TOKEN" in err and "Traceback" not in err
    proc = consult(["serve"], {"CONSULT_DATA_DIR": str(tmp_path / "d"), "SLACK_BOT_TOKEN": BOT_TOKEN},
                   tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "SLACK_APP_TOKEN" in err and "Traceback" not in err


def test_web_login_link_prints_a_one_time_link(tmp_path):
    env = {"CONSULT_DATA_DIR": str(tmp_path / "d"), "CONSULT_WEB_BASE_URL": "https://consult.example.jp"}
    proc = consult(["web", "login-link", "U0STAFF"], env, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("https://consult.example.jp/login/link?token=")
    assert "一度だけ有効" in err
    assert (tmp_path / "d" / "web_secret").stat().st_mode & 0o077 == 0   # the key is private


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_http_answers_a_signed_mention(indexed_settings, slack_api, tmp_path):
    settings = indexed_settings()
    port = free_port()
    env = {"CONSULT_DATA_DIR": str(settings.data_dir),
           "CONSULT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack_api.url}
    proc = consult(["serve", "--http", "--port", str(port), "--host", "127.0.0.1"], env, tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        client = SlackDeliveryClient(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        ev = mention_event("地域おこし協力隊の定住に向けた支援はありますか？", channel="C111")
        assert client.post_event(event_callback(ev)).status == 200
        assert client.post_event(event_callback(ev), secret="bad").status == 401
        slack_api.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                           timeout=90)
        assert len(answers_in(slack_api, "C111", ev["ts"])) == 1
        assert slack_api.calls("auth.test")                   # token verified at start
        # the staff console is served by the same application, on the same port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            page = r.read().decode()
            assert r.status == 200 and "職員用ページへのログイン" in page
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert BOT_TOKEN not in err and SIGNING_SECRET not in err and BOT_TOKEN not in out
    assert "objects frozen out of garbage collection" in err      # warmed up once listening


def test_warm_up_loads_the_index_and_survives_a_missing_one(indexed_settings, make_settings,
                                                            caplog):
    import gc

    from bot.services import build_services
    from bot.slack.runner import warm_up

    try:
        services = build_services(indexed_settings())
        warm_up(services)
        assert gc.get_freeze_count() > 0
        assert len(services.retriever.search("地域おこし協力隊")) > 0          # already open
        with caplog.at_level("WARNING"):
            warm_up(build_services(make_settings()))                    # never ingested
        assert any("warm-up search failed" in r.getMessage() for r in caplog.records)
    finally:
        gc.unfreeze()


def test_consult_web_serves_the_console_alone_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {"CONSULT_DATA_DIR": str(tmp_path / "d"), "CONSULT_WEB_PORT": str(port)}
    proc = consult(["web"], env, tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as r:
                    assert r.status == 200 and "職員用ページへのログイン" in r.read().decode()
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "console did not start"
                time.sleep(0.3)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/slack/events", data=b"{}", timeout=5)
            raise AssertionError("no Slack endpoint without the bot")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"職員用ページ: http://127.0.0.1:{port}/" in out
