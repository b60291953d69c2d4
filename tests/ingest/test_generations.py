"""`--rebuild` builds beside the live index and switches readers atomically (embedded Chroma);
the replaced collection is dropped by a later ingest once readers had time to move on."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from ingest.generations import members
from ingest.index import open_index
from ingest.pipeline import run_ingest
from ingest.repair import audit
from ingest.store import chroma_client

from .conftest import REPO

FAMILY = "kb_multilingual-e5-small"


def reader_loop(settings, stop: threading.Event, errors: list, seen: set, searches: list) -> None:
    """What a bot replica does: refresh, then dense + BM25 search and chunk lookups, in a loop."""
    handle = open_index(settings)
    handle.server_check_interval = 0.2
    while not stop.is_set():
        try:
            handle.refresh_if_changed()
            dense = handle.dense_search("協力隊員の定住支援", 3)
            lexical = handle.lexical_search("補助率 上限額", 3)
            chunks = handle.get_chunks([d[0] for d in dense] + [c for c, _ in lexical])
            assert dense and lexical and len(chunks) >= 2
            seen.add(handle.stats()["collection"])
            searches.append(1)
        except Exception as exc:  # every failure counts; the test expects none
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.02)


def run_rebuild_under_readers(settings, kb, env_extra=None):
    """A real `python -m ingest --rebuild` while a reader loops; returns (errors, seen, searches)."""
    stop, errors, seen, searches = threading.Event(), [], set(), []
    reader = threading.Thread(target=reader_loop, args=(settings, stop, errors, seen, searches))
    reader.start()
    try:
        env = {**os.environ, "CONSULT_DATA_DIR": str(settings.data_dir), "CONSULT_KNOWLEDGE_DIR": str(kb),
               **(env_extra or {})}
        done = subprocess.run([sys.executable, "-m", "ingest", "--rebuild", "--json"], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        deadline = time.monotonic() + 15
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        reader.join(30)
    return errors, seen, searches


def test_rebuild_switches_a_reading_process_with_no_errors(index_settings, kb, counting):
    settings = index_settings()
    first = run_ingest(settings, embeddings=counting)
    errors, seen, searches = run_rebuild_under_readers(settings, kb)
    assert errors == [] and len(searches) > 10
    assert FAMILY in seen and len(seen) == 2  # it read the old collection, then the new one
    new = (seen - {FAMILY}).pop()
    assert open_index(settings).stats()["collection"] == new
    # the old collection stays for readers that have not moved on; everything else agrees
    assert members(chroma_client(settings), FAMILY) == sorted([FAMILY, new])
    state = audit(settings)
    assert state["agree"] and state["chroma"] == first.chunks_total


def test_replaced_collection_is_dropped_after_the_grace_period(index_settings, kb, counting):
    settings = index_settings(CONSULT_KEEP_OLD_INDEX_S="3600")
    run_ingest(settings, embeddings=counting)
    rebuilt = run_ingest(settings, rebuild=True, embeddings=counting)
    assert rebuilt.switched and rebuilt.collection != FAMILY and counting.count == rebuilt.chunks_total
    assert run_ingest(settings, embeddings=counting).chunks_added == 0
    assert len(members(chroma_client(settings), FAMILY)) == 2  # within the grace period: kept
    soon = index_settings(CONSULT_KEEP_OLD_INDEX_S="0")
    assert run_ingest(soon, embeddings=counting).chunks_added == 0
    assert members(chroma_client(settings), FAMILY) == [rebuilt.collection]
    assert not (settings.data_dir / f"manifest-{FAMILY}.json").exists()
    assert audit(settings)["agree"]
    # a second rebuild replaces the second generation the same way
    again = run_ingest(soon, rebuild=True, embeddings=counting)
    assert members(chroma_client(settings), FAMILY) == [again.collection]
    assert open_index(settings).count() == again.chunks_total
