"""The worker pool that runs slow work after the ack."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.slack.worker import Worker


def test_tasks_run_and_wait_idle():
    worker = Worker(2)
    gate = threading.Event()
    done = []
    for i in range(4):
        worker.submit("t", lambda i=i: (gate.wait(5), done.append(i)))
    assert not worker.wait_idle(0.1)             # still blocked
    gate.set()
    assert worker.wait_idle(5)
    assert sorted(done) == [0, 1, 2, 3]
    worker.shutdown()


def test_failures_are_logged_not_swallowed(caplog):
    worker = Worker(1)

    def boom():
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.ERROR, logger="bot.slack.worker"):
        future = worker.submit("boom-task", boom)
        with pytest.raises(RuntimeError):
            future.result(5)
    assert worker.wait_idle(5)
    assert any("boom-task" in r.getMessage() and r.exc_info for r in caplog.records)
    worker.shutdown()
