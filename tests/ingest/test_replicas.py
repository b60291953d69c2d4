"""Several hosts sharing one index (a real `chroma run` server, records in a real PostgreSQL
schema): a rebuild never fails readers, knowledge folders never delete each other's documents,
one ingest runs at a time across hosts, replicas do not ingest on start unless told to."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from ingest.errors import IngestLocked
from ingest.generations import members
from ingest.index import open_index
from ingest.lock import shared_ingest_lock
from ingest.pipeline import run_ingest
from ingest.repair import audit
from ingest.store import chroma_client

from .conftest import REPO, write
from .test_generations import FAMILY, reader_loop


def _sources(settings) -> dict[str, int]:
    out: dict[str, int] = {}
    for metadata in open_index(settings)._collection.get(include=["metadatas"])["metadatas"]:
        out[metadata["source"]] = out.get(metadata["source"], 0) + 1
    return out


def test_rebuild_on_one_host_never_fails_readers_on_another(index_settings, kb, tmp_path, counting,
                                                             chroma):
    writer = index_settings(**chroma.env())
    run_ingest(writer, embeddings=counting)
    replica = index_settings(**chroma.env(), CONSULT_DATA_DIR=str(tmp_path / "replica"))
    stuck = open_index(replica)  # a reader that will not look at the marker before its next query
    stuck.server_check_interval = 3600
    stop, errors, seen, searches = threading.Event(), [], set(), []
    reader = threading.Thread(target=reader_loop, args=(replica, stop, errors, seen, searches))
    reader.start()
    try:
        env = {**os.environ, **chroma.env(), "CONSULT_DATA_DIR": str(writer.data_dir),
               "CONSULT_KNOWLEDGE_DIR": str(kb)}
        done = subprocess.run([sys.executable, "-m", "ingest", "--rebuild", "--json"], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        reader.join(30)
    assert errors == [] and len(searches) > 10 and len(seen) == 2
    new = (seen - {FAMILY}).pop()
    # a later ingest past the grace period drops the old collection; the stuck reader's next
    # query finds it gone, follows the marker and answers from the new one
    run_ingest(index_settings(**chroma.env(), CONSULT_KEEP_OLD_INDEX_S="0"), embeddings=counting)
    assert members(chroma_client(writer), FAMILY) == [new]
    assert stuck.dense_search("協力隊員の定住支援", 1) and stuck.stats()["collection"] == new
    assert audit(writer)["agree"]


def test_knowledge_folders_sharing_an_index_never_delete_each_other(index_settings, kb, tmp_path,
                                                                     counting, chroma, pg_url):
    shared = {**chroma.env(), "DATABASE_URL": pg_url}
    host_a = index_settings(**shared)
    other = tmp_path / "kb-okhotsk"
    write(other / "rules" / "ferry.md", "## 第1条 離島航路\n離島航路の運賃を補助する。\n")
    write(other / "rules" / "ice.md", "## 第1条 流氷観光\n流氷観光の受入体制づくりを支援する。\n")
    (other / "faq").mkdir()
    (other / "faq" / "faq.csv").write_bytes((kb / "faq" / "faq.csv").read_bytes())  # same file in both
    host_b = index_settings(**shared, CONSULT_KNOWLEDGE_DIR=str(other),
                            CONSULT_DATA_DIR=str(tmp_path / "data-b"))
    run_ingest(host_a, embeddings=counting)
    report_b = run_ingest(host_b, embeddings=counting)
    assert report_b.files_removed == 0 and report_b.chunks_deleted == 0
    assert report_b.foreign_documents == 3
    both = _sources(host_b)
    assert set(both) == {"strategy/plan.txt", "rules/grant.md", "faq/faq.csv", "rules/ferry.md", "rules/ice.md"}

    (other / "rules" / "ice.md").unlink()       # B removes its own file: only that goes
    assert run_ingest(host_b, embeddings=counting).files_removed == 1
    (kb / "faq" / "faq.csv").unlink()           # A removes the file B holds too: B's copy stays
    assert run_ingest(host_a, embeddings=counting).files_removed == 1
    left = _sources(host_a)
    assert "rules/ice.md" not in left and left["faq/faq.csv"] == both["faq/faq.csv"]
    assert left["rules/grant.md"] == both["rules/grant.md"]

    rebuilt = run_ingest(host_b, rebuild=True, embeddings=counting)  # A's documents are carried over
    assert rebuilt.switched and _sources(host_a) == left
    pruned = run_ingest(host_b, prune_foreign=True, embeddings=counting)
    assert pruned.pruned_foreign > 0
    assert set(_sources(host_b)) == {"rules/ferry.md", "faq/faq.csv"}
    assert audit(host_b)["agree"]


def test_one_ingest_at_a_time_across_hosts(index_settings, kb, tmp_path, chroma, pg_url):
    settings = index_settings(**chroma.env(), DATABASE_URL=pg_url)
    with shared_ingest_lock(settings.record_manager_url):
        env = {**os.environ, **chroma.env(), "DATABASE_URL": pg_url, "CONSULT_KNOWLEDGE_DIR": str(kb),
               "CONSULT_DATA_DIR": str(tmp_path / "other-host")}
        done = subprocess.run([sys.executable, "-m", "ingest"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "別の取り込み処理が実行中" in done.stderr and "共有データベース" in done.stderr
        with pytest.raises(IngestLocked):
            run_ingest(settings)
    assert not run_ingest(settings).failed  # released


def test_replicas_do_not_ingest_on_start_unless_told(kb, tmp_path, monkeypatch, chroma):
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    for key, value in {**chroma.env(), "CONSULT_DATA_DIR": str(tmp_path / "data"),
                       "CONSULT_KNOWLEDGE_DIR": str(kb)}.items():
        monkeypatch.setenv(key, value)
    quiet = CliRunner().invoke(app, ["run", "--no-web"], input="")
    assert quiet.exit_code == 0 and "索引を確認しました" not in quiet.stderr
    assert members(chroma_client(index_settings_for(tmp_path, kb, chroma)), FAMILY) == []
    told = CliRunner().invoke(app, ["run", "--ingest", "--no-web"], input="")
    assert told.exit_code == 0 and "索引を確認しました" in told.stderr
    monkeypatch.setenv("CONSULT_INGEST_ON_START", "true")
    assert "索引を確認しました" in CliRunner().invoke(app, ["run", "--no-web"], input="").stderr


def index_settings_for(tmp_path, kb, chroma):
    from ingest.settings import IndexSettings

    return IndexSettings(_env_file=None, CONSULT_DATA_DIR=str(tmp_path / "data"),
                         CONSULT_KNOWLEDGE_DIR=str(kb), **chroma.env())
