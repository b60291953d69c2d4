"""Ingest faults, measured with real processes (and a real `chroma run` server):

- kills:     a `python -m ingest` SIGKILLed at each step (CONSULT_TEST_KILL_AT), plain and
             `--rebuild`, then a plain `python -m ingest`: does everything agree again (Chroma ids =
             records = BM25 ids, marker count, dense index answers for its chunks), and is the run
             after that a no-op?
- rebuild:   a reader thread looping dense + BM25 searches and chunk lookups while `python -m
             ingest --rebuild` runs in another process (embedded Chroma, and a Chroma server with
             the reader on another data dir): searches, errors, both generations seen.
- big_file:  a 50 MB text file: a plain ingest with the default size limit (skipped), and a
             `--dry-run` with the limit raised (streamed: loaded and chunked, not embedded);
             wall time and the child's peak RSS, against the same command on the small folder.
- encodings: decoding accuracy on random excerpts of the bundled knowledge base per length and
             encoding, the new detector against the old "first codec without an error" rule
             (run in this process), and how much mojibake is refused.
- symlink:   links out of the folder (a file, a folder), a link loop and a dangling link: the
             ingest's exit code and report, whether the secret is searchable, wall time.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KB = REPO / "knowledge_base"
FAMILY = "kb_multilingual-e5-small"

PLAIN_STEPS = ("begin", "chroma_add", "chroma_delete", "lexical", "manifest", "commit")
REBUILD_STEPS = ("chroma_add", "building", "manifest", "commit")


def add_arguments(parser) -> None:
    parser.add_argument("--ingest-big-mb", type=int, default=50, help="size of the big text file (MB)")
    parser.add_argument("--ingest-kb-copies", type=int, default=8,
                        help="copies of the bundled knowledge base in the rebuild scenario")


def run(args) -> dict:
    work: Path = args.workdir_area
    cache = _warm_cache(work)
    out = {}
    for name, scenario in (("encodings", encodings), ("symlink", symlink), ("kills", kills),
                           ("rebuild", rebuild), ("big_file", big_file)):
        started = time.perf_counter()
        out[name] = scenario(work / name, cache, args)
        out[name]["seconds"] = round(time.perf_counter() - started, 1)
        # partial results survive an interrupted run
        print(json.dumps({name: out[name]}, ensure_ascii=False, default=str), file=sys.stderr, flush=True)
    return out


# ---- helpers -------------------------------------------------------------------------------

def _settings(data: Path, kb: Path, **extra):
    from ingest.settings import IndexSettings

    return IndexSettings(_env_file=None, CONSULT_DATA_DIR=str(data), CONSULT_KNOWLEDGE_DIR=str(kb), **extra)


def _env(data: Path, kb: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONSULT_", "CHROMA_", "DATABASE_URL", "OPENAI_", "AZURE_"))}
    return {**env, "CONSULT_DATA_DIR": str(data), "CONSULT_KNOWLEDGE_DIR": str(kb), **extra}


def _ingest(data: Path, kb: Path, *args: str, **env_extra) -> dict:
    """A real `python -m ingest --json` process: exit code, report, wall time, peak RSS (MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "--json", *args], cwd=REPO,
                            env=_env(data, kb, **env_extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    try:
        report = json.loads(out.decode("utf-8").strip().splitlines()[-1]) if out.strip() else {}
    except (ValueError, IndexError):
        report = {}
    return {"code": code, "report": report, "seconds": round(time.perf_counter() - started, 2),
            "rss_mb": round(usage.ru_maxrss / 1024, 1), "stderr": err.decode("utf-8", "replace")[-500:]}


def _warm_cache(work: Path) -> Path:
    """Embed the bundled knowledge base (and the changed file of the kill scenario) once; every
    scenario starts from a copy of this cache, so nothing is embedded twice."""
    from ingest.pipeline import run_ingest

    data, kb = work / "warm" / "data", work / "warm" / "kb"
    shutil.copytree(KB, kb, dirs_exist_ok=True)
    run_ingest(_settings(data, kb))
    _change(kb)
    run_ingest(_settings(data, kb))
    return data / "cache"


def _kb_copy(dest: Path) -> Path:
    shutil.copytree(KB, dest, dirs_exist_ok=True)
    return dest


def _change(kb: Path) -> None:
    """A changed file, a new one, a removed one."""
    md = next(p for p in sorted(kb.rglob("*.md")) if p.name.lower() != "readme.md")
    md.write_text(md.read_text(encoding="utf-8").replace("。", "。相談窓口は各振興局です。", 1), encoding="utf-8")
    (kb / "rules").mkdir(exist_ok=True)
    (kb / "rules" / "snow.md").write_text(
        "## 第1条 除雪ボランティア\n除雪ボランティアの傷害保険料を全額補助する。\n", encoding="utf-8")
    faq = sorted(kb.rglob("*.csv"))
    if faq:
        faq[0].unlink()


def _prepared(dest: Path, cache: Path) -> tuple[Path, Path]:
    data, kb = dest / "data", _kb_copy(dest / "kb")
    shutil.copytree(cache, data / "cache")
    return data, kb


# ---- kills ---------------------------------------------------------------------------------

def kills(work: Path, cache: Path, args) -> dict:
    from ingest.repair import audit

    results, repaired = {}, 0
    cases = [(step, False) for step in PLAIN_STEPS] + [(step, True) for step in REBUILD_STEPS]
    for step, rebuild_run in cases:
        name = f"{'rebuild' if rebuild_run else 'plain'}@{step}"
        data, kb = _prepared(work / name.replace("@", "-"), cache)
        assert _ingest(data, kb)["code"] == 0
        _change(kb)
        killed = _ingest(data, kb, *(["--rebuild"] if rebuild_run else []), CONSULT_TEST_KILL_AT=step)
        settings = _settings(data, kb)
        before = audit(settings)
        fixed = _ingest(data, kb)
        after = audit(settings)
        again = _ingest(data, kb)
        ok = (killed["code"] == -signal.SIGKILL and fixed["code"] == 0 and after["agree"]
              and again["report"].get("chunks_added") == 0 and again["report"].get("chunks_deleted") == 0
              and not again["report"].get("repairs"))
        repaired += ok
        results[name] = {
            "killed": killed["code"] == -signal.SIGKILL,
            "agreed_after_kill": before.get("agree"),
            "after_kill": {k: before.get(k) for k in ("chroma", "records", "bm25", "marker_chunks",
                                                      "vectors_without_record", "records_without_vector",
                                                      "bm25_differs", "journal")},
            "repairs": fixed["report"].get("repairs"),
            "agree_after_repair": after["agree"], "dense_misses": after.get("dense_misses"),
            "next_run_noop": bool(again["report"]) and not again["report"].get("chunks_added")
            and not again["report"].get("repairs"),
            "repair_run_s": fixed["seconds"],
        }
    return {"scenarios": len(cases), "repaired": repaired, "steps": results}


# ---- rebuild under readers ------------------------------------------------------------------

def _reader(settings, stop, stats) -> None:
    from ingest.index import open_index

    handle = open_index(settings)
    handle.server_check_interval = 0.5
    while not stop.is_set():
        try:
            handle.refresh_if_changed()
            dense = handle.dense_search("地域おこし協力隊の定住支援", 5)
            lexical = handle.lexical_search("交付金 申請", 5)
            handle.get_chunks([d[0] for d in dense] + [c for c, _ in lexical])
            if not dense or not lexical:
                raise AssertionError("empty result")
            stats["collections"].add(handle.stats()["collection"])
            stats["searches"] += 1
        except Exception as exc:
            stats["errors"] += 1
            stats["examples"].append(f"{type(exc).__name__}: {str(exc)[:120]}")
        time.sleep(0.01)


def _rebuild_once(data: Path, kb: Path, reader_settings, env_extra: dict) -> dict:
    stop = threading.Event()
    stats = {"searches": 0, "errors": 0, "examples": [], "collections": set()}
    thread = threading.Thread(target=_reader, args=(reader_settings, stop, stats), daemon=True)
    thread.start()
    time.sleep(1.0)
    done = _ingest(data, kb, "--rebuild", **env_extra)
    deadline = time.monotonic() + 30
    while len(stats["collections"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(30)
    return {"rebuild_exit": done["code"], "rebuild_s": done["seconds"],
            "chunks": done["report"].get("chunks_total"), "reader_searches": stats["searches"],
            "reader_errors": stats["errors"], "error_examples": stats["examples"][:3],
            "reader_saw_generations": len(stats["collections"])}


def rebuild(work: Path, cache: Path, args) -> dict:
    from tests.standins.chroma_server import ChromaServer

    copies = 2 if args.quick else args.ingest_kb_copies
    out = {}
    data, kb = work / "embedded" / "data", work / "embedded" / "kb"
    for i in range(copies):
        _kb_copy(kb / f"set{i:02d}")
    shutil.copytree(cache, data / "cache")
    assert _ingest(data, kb)["code"] == 0
    out["embedded"] = _rebuild_once(data, kb, _settings(data, kb), {})

    server = ChromaServer(work / "chroma-server", work / "chroma-server.log")
    if not server.available:
        out["server"] = {"skipped": "chroma CLI not installed"}
        return out
    server.start()
    try:
        data = work / "server" / "data"
        shutil.copytree(cache, data / "cache")
        assert _ingest(data, kb, **server.env())["code"] == 0
        replica = _settings(work / "server" / "replica", kb, **server.env())
        out["server"] = _rebuild_once(data, kb, replica, server.env())
    finally:
        server.stop()
    return out


# ---- big file ------------------------------------------------------------------------------

def big_file(work: Path, cache: Path, args) -> dict:
    size_mb = 5 if args.quick else args.ingest_big_mb
    data, kb = _prepared(work, cache)
    baseline = _ingest(data, kb, "--dry-run")
    assert _ingest(data, kb)["code"] == 0
    body = (KB / "strategy").glob("*.md").__next__().read_text(encoding="utf-8")
    path = kb / "other" / "huge.txt"
    path.parent.mkdir(exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        i = 0
        while fh.tell() < size_mb * 1024 * 1024:
            fh.write(body.replace("。", f"（{i}）。") + "\n")
            i += 1
    # the default limit (20 MB) when the file is bigger; in --quick mode (5 MB) a limit below it
    limit = {} if size_mb > 20 else {"CONSULT_MAX_FILE_MB": str(size_mb / 2)}
    skipped = _ingest(data, kb, **limit)
    streamed = _ingest(data, kb, "--dry-run", CONSULT_MAX_FILE_MB=str(size_mb * 2))
    return {
        "file_mb": round(path.stat().st_size / 1048576, 1),
        "limit_mb": limit.get("CONSULT_MAX_FILE_MB", "20 (default)"),
        "over_the_limit": {"exit": skipped["code"], "seconds": skipped["seconds"], "rss_mb": skipped["rss_mb"],
                          "skipped": [s["path"] for s in skipped["report"].get("skipped", [])]},
        "streamed_dry_run": {"exit": streamed["code"], "seconds": streamed["seconds"],
                             "rss_mb": streamed["rss_mb"],
                             "chunks_planned": streamed["report"].get("chunks_added"),
                             "chars": streamed["report"].get("chars_loaded")},
        "small_folder_dry_run": {"seconds": baseline["seconds"], "rss_mb": baseline["rss_mb"]},
    }


# ---- encodings -----------------------------------------------------------------------------

def _old_decode(data: bytes) -> str:
    """The rule before: BOMs, then the first of utf-8 / cp932 / euc_jp that raises no error."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8", "cp932", "euc_jp"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("undecodable")


def encodings(work: Path, cache: Path, args) -> dict:
    from ingest.loaders.encoding import decode_bytes

    text = "".join(p.read_text(encoding="utf-8-sig") for p in sorted(KB.rglob("*"))
                   if p.suffix in (".md", ".csv"))
    rng = random.Random(13)
    n = 60 if args.quick else 300
    table = {}
    for length in (3, 5, 8, 12, 20, 40):
        row = {}
        for encoding in ("euc_jp", "cp932", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"):
            new = old = total = 0
            for _ in range(n):
                i = rng.randrange(len(text) - length)
                sample = text[i:i + length]
                try:
                    data = sample.encode(encoding)
                except UnicodeEncodeError:
                    continue
                total += 1
                for decode, hit in ((decode_bytes, "new"), (_old_decode, "old")):
                    try:
                        ok = decode(data) == sample
                    except Exception:
                        ok = False
                    if hit == "new":
                        new += ok
                    else:
                        old += ok
            row[encoding] = f"{new}/{total} (old rule {old}/{total})"
        table[f"{length}_chars"] = row
    refused = 0
    trials = 100
    for i in range(trials):
        junk = bytes(rng.randrange(128, 256) for _ in range(200 + i))
        try:
            decode_bytes(junk)
        except Exception:
            refused += 1
    issue_case = decode_bytes("振興局".encode("euc_jp"))
    return {"accuracy": table, "random_high_bytes_refused": f"{refused}/{trials}",
            "euc_jp_振興局": f"{issue_case} (old rule: {_old_decode('振興局'.encode('euc_jp'))})"}


# ---- symlinks ------------------------------------------------------------------------------

def symlink(work: Path, cache: Path, args) -> dict:
    from ingest.index import open_index

    data, kb = _prepared(work, cache)
    secret_dir = work / "private"
    secret_dir.mkdir()
    secret = secret_dir / "secret.txt"
    secret.write_text("機密\n職員の給与振込口座は北洋銀行本店の普通預金です。\n", encoding="utf-8")
    (kb / "leak.txt").symlink_to(secret)
    (kb / "private").symlink_to(secret_dir, target_is_directory=True)
    (kb / "loop").symlink_to(kb, target_is_directory=True)
    (kb / "dangling.md").symlink_to(work / "nowhere.md")
    (kb / "alias.md").symlink_to(next((kb / "strategy").glob("*.md")))
    done = _ingest(data, kb)
    handle = open_index(_settings(data, kb))
    hits = handle.lexical_search("給与振込口座 北洋銀行", 5)
    texts = [handle.get_chunks([c])[c][0] for c, _ in hits]
    return {"exit": done["code"], "seconds": done["seconds"],
            "skipped": {s["path"]: s["error"][:30] for s in done["report"].get("skipped", [])},
            "secret_chunks_in_index": sum("給与振込口座" in t for t in texts),
            "inside_link_indexed": any(s == "alias.md" for s in _sources(handle))}


def _sources(handle) -> set[str]:
    return {m.get("source") for m in handle._collection.get(include=["metadatas"])["metadatas"]}
