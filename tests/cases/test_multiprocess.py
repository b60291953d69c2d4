"""Several processes (bot replicas) writing to the same case database at once lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bot.cases.store import CaseStore

WORKER = textwrap.dedent("""
    import sys
    from bot.cases.store import CaseStore
    from bot.domain import Answer, Conversation, Requester
    url, worker = sys.argv[1], sys.argv[2]
    store = CaseStore.from_url(url)
    wins = 0
    for i in range(25):
        # every worker also "receives" the shared keys: only one process may win each
        wins += store.claim_delivery(f"shared-{i}")
        conv = Conversation("slack", "T1", "C1", f"{worker}.{i}" if i % 5 else "shared.thread")
        begun = store.begin_turn(conv, Requester(f"U{worker}"), f"質問 {worker}-{i}",
                                 dedupe_key=f"Ev-{worker}-{i}")
        store.complete_turn(begun.turn_id, Answer(text=f"回答 {worker}-{i}", answered=True,
                                                  mode="extractive"))
    store.close()
    print(wins)
""")


def test_four_processes_write_concurrently(db_settings):
    url = db_settings.database_url_resolved
    CaseStore.from_url(url).close()  # schema ready before the workers start
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(w)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(4)]
    wins = 0
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        wins += int(out.strip().splitlines()[-1])
    assert wins == 25  # each shared key was won by exactly one process
    store = CaseStore.from_url(url)
    try:
        details = store.export_details()
        turns = [t for d in details for t in d.turns]
        assert len(turns) == 100 and all(t.answer for t in turns)
        assert len({t.question for t in turns}) == 100
        shared = [d for d in details if d.case.thread_ts == "shared.thread"]
        assert len(shared) == 1 and len(shared[0].turns) == 20
        assert len(details) == 1 + 4 * 20
        assert all(store.claim_delivery(f"shared-{i}") is False for i in range(25))
    finally:
        store.close()
