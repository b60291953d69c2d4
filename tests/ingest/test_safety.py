"""Nothing outside the knowledge folder is indexed; big files are skipped (over the limit) or
streamed (under it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from ingest.chunks import document_chunks, iter_document_chunks
from ingest.index import open_index
from ingest.loaders import load_file
from ingest.pipeline import run_ingest
from ingest.scan import resolve_scope, scan

from .conftest import REPO, write

SECRET = "機密情報：職員の給与口座は北洋銀行の口座番号です。"


def _sources(settings) -> set[str]:
    handle = open_index(settings)
    return {m["source"] for m in handle._collection.get(include=["metadatas"])["metadatas"]}


def test_links_out_of_the_folder_are_reported_and_never_indexed(index_settings, kb, tmp_path, counting):
    outside = write(tmp_path / "private" / "secret.txt", f"給与\n{SECRET}\n")
    (kb / "rules" / "leak.txt").symlink_to(outside)                      # a file outside
    (kb / "rules" / "private").symlink_to(outside.parent, target_is_directory=True)  # a folder outside
    (kb / "faq" / "same.csv").symlink_to(kb / "faq" / "faq.csv")        # a file inside: fine
    (kb / "loop").mkdir()
    (kb / "loop" / "up").symlink_to(kb, target_is_directory=True)        # a loop: not followed
    (kb / "rules" / "gone.md").symlink_to(tmp_path / "nowhere.md")       # dangling
    settings = index_settings()
    done: list = []
    worker = threading.Thread(target=lambda: done.append(run_ingest(settings, embeddings=counting)))
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the scan hung on a link loop"
    report = done[0]
    skipped = {s["path"]: s["error"] for s in report.skipped}
    assert set(skipped) == {"rules/leak.txt", "rules/private", "loop/up", "rules/gone.md"}
    assert "外" in skipped["rules/leak.txt"] and "リンク" in skipped["loop/up"]
    assert report.exit_code == 2
    assert not any("給与口座" in text for text in counting.texts)
    assert _sources(settings) == {"strategy/plan.txt", "rules/grant.md", "faq/faq.csv", "faq/same.csv"}
    handle = open_index(settings)
    assert all("給与口座" not in handle.get_chunks([cid])[cid][0]
               for cid, _ in handle.lexical_search("給与口座 北洋銀行", 5))


def test_a_file_replaced_by_a_link_out_loses_its_chunks(index_settings, kb, tmp_path, counting):
    settings = index_settings()
    run_ingest(settings, embeddings=counting)
    outside = write(tmp_path / "private" / "secret.md", f"## 除雪\n{SECRET}\n")
    (kb / "rules" / "grant.md").unlink()
    (kb / "rules" / "grant.md").symlink_to(outside)
    report = run_ingest(settings, embeddings=counting)
    assert report.files_removed == 1 and [s["path"] for s in report.skipped] == ["rules/grant.md"]
    assert "rules/grant.md" not in _sources(settings)


def test_the_cli_reports_links_in_japanese(kb, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app

    outside = write(tmp_path / "private" / "secret.txt", SECRET)
    (kb / "rules" / "leak.txt").symlink_to(outside)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONSULT_KNOWLEDGE_DIR", str(kb))
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == 2, result.output
    assert "取り込まなかったファイル" in result.stdout and "rules/leak.txt" in result.stdout


def test_files_over_the_size_limit_are_skipped_and_keep_what_was_indexed(index_settings, kb, counting):
    settings = index_settings(CONSULT_MAX_FILE_MB="0.01")  # ~10 KB
    run_ingest(settings, embeddings=counting)
    before = _sources(settings)
    grant = kb / "rules" / "grant.md"
    grant.write_text(grant.read_text(encoding="utf-8") + "補助の対象となる経費の例。\n" * 1000,
                     encoding="utf-8")
    counting.reset()
    report = run_ingest(settings, embeddings=counting)
    assert [s["path"] for s in report.skipped] == ["rules/grant.md"]
    assert "大きすぎる" in report.skipped[0]["error"] and "CONSULT_MAX_FILE_MB" in report.skipped[0]["error"]
    assert counting.count == 0 and report.files_removed == 0 and report.exit_code == 2
    assert _sources(settings) == before


def test_big_text_files_are_streamed_with_the_same_chunks(tmp_path, monkeypatch):
    import ingest.loaders.text as text_loader

    body = "".join(f"## 第{i}条 補助\n第{i}条の補助率は対象経費の2分の1以内とし、振興局が審査する。\n"
                   for i in range(300))
    path = write(tmp_path / "rules.md", f"---\ntitle: 大きな要綱\n---\n{body}", encoding="cp932")
    monkeypatch.setattr(text_loader, "STREAM_BYTES", 1024)
    streamed = load_file(path)
    assert streamed.streamed and streamed.title == "大きな要綱"
    lazy = [c.id for c in iter_document_chunks(streamed, "rules/rules.md")]
    monkeypatch.setattr(text_loader, "STREAM_BYTES", 10 ** 9)
    whole = load_file(path)
    assert not whole.streamed
    assert lazy == [c.id for c in document_chunks(whole, "rules/rules.md")] and len(lazy) == 300


def test_scan_of_an_outside_folder_stays_inside_it(tmp_path):
    shared = tmp_path / "share" / "要綱"
    write(shared / "a.md", "## 第1条\n本文。\n")
    write(tmp_path / "share" / "other" / "b.md", "## 第1条\n別の本文。\n")
    (shared / "b.md").symlink_to(tmp_path / "share" / "other" / "b.md")  # a sibling folder: outside
    result = scan(resolve_scope(tmp_path / "kb-absent", shared))
    assert [s for s, _ in result.files] == ["要綱/a.md"]
    assert [s["path"] for s in result.skipped] == ["要綱/b.md"]


def test_json_report_lists_skipped_files(kb, tmp_path):
    (kb / "rules" / "leak.txt").symlink_to("/etc/hostname")
    env = {**os.environ, "CONSULT_DATA_DIR": str(tmp_path / "data"), "CONSULT_KNOWLEDGE_DIR": str(kb)}
    done = subprocess.run([sys.executable, "-m", "ingest", "--json", "--dry-run"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    data = json.loads(done.stdout)
    assert [s["path"] for s in data["skipped"]] == ["rules/leak.txt"] and done.returncode == 2
