"""Background warm-up waits for a quiet moment: the console marks every request (health checks
excepted) and ``SimilarCases.warm`` embeds only while the process is quiet."""

from __future__ import annotations

from bot.activity import Activity
from tests.web.conftest import LEAD, STAFF


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quiet_only_without_requests_in_flight_or_recent():
    clock = Clock()
    activity = Activity(quiet_s=2.0, clock=clock)
    assert not activity.quiet()                  # just started: requests come right after
    clock.now += 2.0
    assert activity.quiet()
    activity.begin()
    clock.now += 10
    assert not activity.quiet()                  # a slow request is still in flight
    activity.begin()
    activity.end()
    assert not activity.quiet()                  # the other one still is
    activity.end()
    clock.now += 1.9
    assert not activity.quiet()                  # just finished
    clock.now += 0.2
    assert activity.quiet()


def test_console_requests_mark_activity_health_checks_do_not(console):
    activity = console.services.activity
    client = console.client(STAFF)               # signing in is a request
    activity.quiet_s = 3600.0
    assert not activity.quiet()
    activity.quiet_s = 0.0
    assert activity.quiet()
    activity.quiet_s = 3600.0
    activity._last = float("-inf")               # as if long ago
    assert activity.quiet()
    assert client.get("/healthz").text == "ok"
    assert activity.quiet()
    assert client.get("/").status_code == 200
    assert not activity.quiet()


def test_warm_embeds_only_while_quiet(console):
    for n, question in enumerate(["地域づくり総合交付金の申請期限はいつですか？",
                                  "地域おこし協力隊の任期はどのくらいですか？"]):
        case = console.console_case(question)
        console.workflow.reply(LEAD, case.id, f"担当からの回答 {n} です。")
        console.workflow.resolve(LEAD, case.id)
    similar = console.services.similar
    assert len(similar.candidates(fresh=True)) == 2
    similar._memo.clear()                         # (the staff card looked them up already)
    looks = []
    assert similar.warm(go_on=lambda: looks.append(1) or False) == 0
    assert looks == [1] and similar._memo == {}   # not even the persistent cache looked up
    assert similar.warm(go_on=lambda: True) == 2
    assert set(similar.vectors([c.question for c in similar.candidates()], 0)) == \
        {c.question for c in similar.candidates()}
