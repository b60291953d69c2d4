"""Index builders of the retrieval benchmark (idempotent: each index is built once under the bench
data dir and reused; a second run only checks that nothing changed).

- jsquad: the JSQuAD test split as a knowledge folder (bench/jsquad_to_kb.py), real embeddings.
- seed:   the bundled knowledge base + >= 5,000 distractor chunks from ../shared/corpora (JSQuAD
          Wikipedia paragraphs, support-programme records, city newsletters), real embeddings.
- scale:  bundled KB + JSQuAD + newsletters + programme records + statutes, >= 20,000 chunks. BM25
          indexes every real text. Dense vectors: texts already embedded for `jsquad`/`seed` keep
          their real vectors (caches merged); the other filler chunks get REAL VECTORS OF JSQUAD
          PARAGRAPHS, REPEATED WITH SMALL RANDOM PERTURBATIONS (not their own embeddings).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPORA = REPO.parent / "shared" / "corpora"
BUNDLED_KB = REPO / "knowledge_base"
CHARS_PER_CHUNK = 330  # measured average for these corpora with the default chunker (approx.)


def settings_for(data_dir: Path, kb: Path):
    from bot.settings import Settings

    return Settings(_env_file=None, CONSULT_DATA_DIR=str(data_dir), CONSULT_KNOWLEDGE_DIR=str(kb))


def _write(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return len(text)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]


def bulletin_docs():
    for csv_path in sorted((CORPORA / "municipal_bulletin" / "csv").glob("*.csv")):
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                body = (row.get("記事本文") or "").strip()
                if len(body) < 40:
                    continue
                title = (row.get("記事タイトル") or "記事").strip()
                name = f"bulletin/{_safe(csv_path.stem)}_{i:04d}.txt"
                yield name, f"{title}\n\n{row.get('自治体名', '')} {row.get('発行号タイトル', '')}\n\n{body}\n"


def program_docs():
    for path in sorted((CORPORA / "civichat_programs").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, rec in enumerate(data.get("systemsData", [])):
            title = rec.get("タイトル（制度名）") or "制度"
            parts = [f"{k}: {v}" for k, v in rec.items()
                     if isinstance(v, str) and v.strip() and k in
                     ("概要", "支援内容", "対象者", "利用•申請方法", "制度所管組織")]
            if parts:
                yield f"programs/{path.stem}_{i:04d}.txt", f"{title}\n\n" + "\n".join(parts) + "\n"


def law_docs():
    with open(CORPORA / "egov_laws" / "laws.jsonl", encoding="utf-8") as fh:
        for line in fh:
            law = json.loads(line)
            text = (law.get("text") or "").strip()
            if len(text) < 200:
                continue
            yield f"laws/{law['law_id']}.txt", f"{law['title']}\n\n{text}\n"


def count_chunks(path: Path, source: str) -> int:
    """Chunks the ingest chunker makes of one file (no embedding)."""
    from ingest.chunks import document_chunks
    from ingest.loaders import load_file

    return len(document_chunks(load_file(path), source))


def fill(kb: Path, sub: str, target_chunks: int, sources, skip: set[str] = frozenset()) -> int:
    """Write documents under kb/sub until they make `target_chunks` chunks (counted with the real
    chunker); remove files of kb/sub that are not part of the selection. Returns the chunk count."""
    keep: set[Path] = set()
    chunks = 0
    for gen in sources:
        for name, text in gen:
            if chunks >= target_chunks:
                break
            if name in skip:
                continue
            path = kb / sub / name
            _write(path, text)
            keep.add(path)
            chunks += count_chunks(path, f"{sub}/{name}")
    for path in (kb / sub).rglob("*.txt"):
        if path not in keep:
            path.unlink()
    return chunks


def merge_cache(src: Path, dst: Path) -> None:
    """Copy embedding-cache rows (real vectors keyed by text hash) from one data dir to another."""
    if not src.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        shutil.copy2(src, dst)
        return
    con = sqlite3.connect(dst)
    try:
        con.execute("ATTACH DATABASE ? AS other", (str(src),))
        con.execute("INSERT OR IGNORE INTO embedding_cache SELECT * FROM other.embedding_cache")
        con.commit()
    finally:
        con.close()


def jsquad_docs(root: Path):
    for path in sorted((root / "jsquad" / "kb").glob("*.txt")):
        yield f"jsquad/{path.name}", path.read_text(encoding="utf-8")


def ingest(settings, embeddings: Embeddings | None = None):
    from ingest.pipeline import run_ingest

    report = run_ingest(settings, progress=sys.stderr.isatty(), embeddings=embeddings)
    print(f"  ingest {settings.knowledge_dir.name}: new {report.files_new} changed {report.files_changed} "
          f"unchanged {report.files_unchanged} failed {len(report.failed)} chunks +{report.chunks_added} "
          f"total {report.chunks_total} ({report.elapsed_s:.0f}s)", flush=True)
    return report


def build_jsquad(root: Path):
    from bench.jsquad_to_kb import convert

    kb = root / "jsquad" / "kb"
    qa = root / "jsquad" / "qa.jsonl"
    if not qa.exists():
        convert(CORPORA / "jsquad" / "test-v1.3.json", kb)
        (kb / "qa.jsonl").rename(qa)  # keep the QA file out of the knowledge folder
    settings = settings_for(root / "jsquad" / "data", kb)
    ingest(settings)
    return settings, root / "jsquad" / "qa.jsonl"


def build_seed(root: Path, distractor_chunks: int):
    """Bundled KB + distractors: JSQuAD paragraphs (embedded already for the JSQuAD run: reused
    through the cache), support-programme records, then newsletter articles up to the target."""
    kb = root / "seed" / "kb"
    for sub in ("strategy", "faq"):
        shutil.copytree(BUNDLED_KB / sub, kb / sub, dirs_exist_ok=True)
    marker = root / "seed" / f"distractors-{distractor_chunks}.done"
    if not marker.exists():
        n = fill(kb, "distractors", distractor_chunks,
                 [jsquad_docs(root), program_docs(), bulletin_docs()])
        if n < distractor_chunks:   # e.g. run from a worktree without ../shared/corpora beside it
            raise SystemExit(f"only {n} distractor chunks (of {distractor_chunks}): are the corpora "
                             f"in {CORPORA} and the JSQuAD paragraphs in {root / 'jsquad' / 'kb'}?")
        marker.write_text(str(n), encoding="utf-8")
    merge_cache(root / "jsquad" / "data" / "cache" / "embeddings.sqlite3",
                root / "seed" / "data" / "cache" / "embeddings.sqlite3")
    settings = settings_for(root / "seed" / "data", kb)
    ingest(settings)
    return settings


class PerturbedPool(Embeddings):
    """Filler vectors for the latency benchmark: a real vector from `pool`, chosen by the text's
    hash, plus Gaussian noise (relative size `noise`), re-normalised."""

    model_id = "multilingual-e5-small"

    def __init__(self, pool: np.ndarray, noise: float = 0.15):
        self.pool = pool
        self.noise = noise

    def embed_documents(self, texts):
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode("utf-8")).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            v = self.pool[seed % len(self.pool)] + rng.standard_normal(self.pool.shape[1]) * (
                self.noise / np.sqrt(self.pool.shape[1]))
            out.append((v / np.linalg.norm(v)).tolist())
        return out

    def embed_query(self, text):
        raise RuntimeError("the filler embeddings never embed queries")


def pool_vectors(settings) -> np.ndarray:
    from ingest.index import live_collection

    col = live_collection(settings)
    got = col.get(include=["embeddings"])
    return np.asarray(got["embeddings"], dtype=np.float32)


def build_scale(root: Path, total_chunks: int):
    """Bundled KB + JSQuAD + newsletters + programme records + statutes up to `total_chunks`.
    Real vectors for every text already embedded (bundled KB, JSQuAD, seed distractors: merged
    caches); the rest get real JSQuAD vectors repeated with small random perturbations."""
    kb = root / "scale" / "kb"
    data = root / "scale" / "data"
    for sub in ("strategy", "faq"):
        shutil.copytree(BUNDLED_KB / sub, kb / sub, dirs_exist_ok=True)
    marker = root / "scale" / f"filler-{total_chunks}.done"
    if not marker.exists():
        n = fill(kb, "filler", total_chunks - 60,
                 [jsquad_docs(root), program_docs(), bulletin_docs(), law_docs()])
        marker.write_text(str(n), encoding="utf-8")
    for other in ("jsquad", "seed"):
        merge_cache(root / other / "data" / "cache" / "embeddings.sqlite3",
                    data / "cache" / "embeddings.sqlite3")
    jsquad = settings_for(root / "jsquad" / "data", root / "jsquad" / "kb")
    settings = settings_for(data, kb)
    ingest(settings, embeddings=PerturbedPool(pool_vectors(jsquad)))
    real, total = restore_real_vectors(settings, [root / o / "data" / "cache" / "embeddings.sqlite3"
                                                  for o in ("seed", "jsquad")])
    print(f"  scale index: {real} of {total} chunks carry their own real embedding; the other "
          f"{total - real} carry perturbed copies of real JSQuAD paragraph vectors", flush=True)
    return settings


def restore_real_vectors(settings, caches: list[Path]) -> tuple[int, int]:
    """Give every chunk of the scale index whose exact text has a real embedding in one of the
    `caches` that real vector (the filler got perturbed ones). Returns (real, total)."""
    import hashlib as _h

    from ingest.index import live_collection

    col = live_collection(settings)
    cons = [sqlite3.connect(c) for c in caches if c.exists()]
    real = total = 0
    offset = 0
    try:
        while True:
            page = col.get(limit=2000, offset=offset, include=["documents"])
            if not page["ids"]:
                break
            offset += len(page["ids"])
            ids, vecs = [], []
            for cid, text in zip(page["ids"], page["documents"]):
                total += 1
                key = _h.sha256(text.encode("utf-8")).hexdigest()
                for con in cons:
                    row = con.execute("SELECT vector FROM embedding_cache WHERE model = ? AND text_hash = ?",
                                      ("multilingual-e5-small", key)).fetchone()
                    if row:
                        ids.append(cid)
                        vecs.append(np.frombuffer(row[0], dtype=np.float32).tolist())
                        break
            if ids:
                col.update(ids=ids, embeddings=vecs)
                real += len(ids)
    finally:
        for con in cons:
            con.close()
    return real, total


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=REPO / "data" / "bench")
    ap.add_argument("--only", default="jsquad,seed,scale")
    ap.add_argument("--distractors", type=int, default=5000)
    ap.add_argument("--scale", type=int, default=20000)
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    if "jsquad" in only:
        build_jsquad(args.root)
    if "seed" in only:
        build_seed(args.root, args.distractors)
    if "scale" in only:
        build_scale(args.root, args.scale)


if __name__ == "__main__":
    main()
