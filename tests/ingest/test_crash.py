"""A real `python -m ingest` process SIGKILLed at a step (CONSULT_TEST_KILL_AT, see
ingest/faults.py) leaves an index that the next plain ingest finds and repairs: Chroma, the
records, BM25 and the generation marker agree again, and the ingest after that has nothing to do.
(`bench/faultlib/ingest.py` runs every step; here a few, to stay fast.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ingest.chunks import document_chunks
from ingest.index import open_index
from ingest.loaders import load_file
from ingest.pipeline import run_ingest
from ingest.repair import audit

from .conftest import REPO, STRATEGY_TEXT, write


def _change(kb) -> None:
    """One file changed, one added, one removed."""
    (kb / "strategy" / "plan.txt").write_text(
        STRATEGY_TEXT.replace("支援する。", "支援する。相談窓口は各振興局の地域政策課です。"), encoding="utf-8")
    write(kb / "rules" / "snow.md", "## 第1条 除雪ボランティア\n除雪ボランティアの傷害保険料を全額補助する。\n")
    (kb / "faq" / "faq.csv").unlink()


def _killed_ingest(settings, kb, step: str, *args: str) -> None:
    env = {**os.environ, "CONSULT_DATA_DIR": str(settings.data_dir), "CONSULT_KNOWLEDGE_DIR": str(kb),
           "CONSULT_TEST_KILL_AT": step}
    done = subprocess.run([sys.executable, "-m", "ingest", "--json", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])


def _expected(kb) -> int:
    return sum(len(document_chunks(load_file(p), p.relative_to(kb).as_posix()))
               for p in sorted(kb.rglob("*")) if p.is_file())


def _assert_repaired(settings, kb, counting) -> None:
    repair_run = run_ingest(settings, embeddings=counting)
    assert not repair_run.failed and repair_run.repairs, repair_run.to_dict()
    state = audit(settings)
    assert state["agree"], state
    assert state["chroma"] == _expected(kb)
    handle = open_index(settings)
    top = handle.lexical_search("傷害保険料", 1)[0][0]
    assert handle.get_chunks([top])[top][1]["source"] == "rules/snow.md"
    assert handle.dense_search("除雪ボランティアの保険", 1)[0][0] == top
    assert handle.lexical_search("ゴミの分別", 3) == []  # the removed FAQ is gone everywhere
    counting.reset()
    third = run_ingest(settings, embeddings=counting)
    assert (third.chunks_added, third.chunks_deleted, third.repairs, counting.count) == (0, 0, [], 0)


@pytest.mark.parametrize("step", ["chroma_add", "lexical"])
def test_killed_ingest_is_repaired_by_the_next_plain_ingest(index_settings, kb, counting, step):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    _change(kb)
    _killed_ingest(settings, kb, step)
    assert not audit(settings)["agree"]
    _assert_repaired(settings, kb, counting)


@pytest.mark.parametrize("step", ["building"])
def test_killed_rebuild_leaves_the_live_index_serving_and_is_cleaned_up(index_settings, kb, counting,
                                                                        step):
    from ingest.generations import members
    from ingest.store import chroma_client

    settings = index_settings()
    first = run_ingest(settings, embeddings=counting)
    handle = open_index(settings)
    _change(kb)
    _killed_ingest(settings, kb, step, "--rebuild")
    # readers never noticed: the live generation and its collection are untouched
    assert handle.refresh_if_changed() is False and handle.count() == first.chunks_total
    assert len(members(chroma_client(settings), "kb_multilingual-e5-small")) == 2  # the half-built one
    _assert_repaired(settings, kb, counting)
    assert members(chroma_client(settings), "kb_multilingual-e5-small") == ["kb_multilingual-e5-small"]
