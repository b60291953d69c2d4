"""Does masking before retrieval cost recall? (issue 14: "the seed and JSQuAD figures must not
drop — masking runs before retrieval".) For every question of the seed sets and of JSQuAD's test
split, the PII guard masks it as the product does; the questions it changes are retrieved as asked
and as masked (placeholders stripped, as `HybridRetriever` does), in the same process, on the
same index, with the product's own assembly (bench/retrieval.py's `eval_modes`).

    python bench/pii_retrieval.py [--root data/bench]    # indexes built by bench/retrieval.py

Prints, per set: questions, how many masking changes, and hybrid / BM25 / dense figures on the
changed ones before and after; then the whole set's hybrid R@5 / MRR@10 with the changed
questions masked, computed from the same runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from retrieval import eval_modes  # noqa: E402
from retrieval_build import settings_for  # noqa: E402

from bot.answering.evaluation import load_qa  # noqa: E402
from bot.answering.retriever import HybridRetriever  # noqa: E402
from bot.pii import PiiGuard  # noqa: E402
from bot.pii.spans import strip_placeholders  # noqa: E402


def measure(name: str, retriever: HybridRetriever, items, guard: PiiGuard) -> None:
    changed, masked = [], []
    for item in items:
        text, _ = guard.mask(item.question)
        if text != item.question:
            changed.append(item)
            masked.append(dataclasses.replace(item, question=strip_placeholders(text).strip()))
    print(f"\n=== {name}: {len(items)} questions, {len(changed)} changed by masking "
          f"(load {os.getloadavg()[0]:.2f})")
    if not changed:
        print("  nothing to compare: the figures are identical by construction")
        return
    print("  -- the changed questions as asked")
    before, _ = eval_modes(retriever, changed)
    print("  -- the same questions masked")
    after, _ = eval_modes(retriever, masked)
    # the unchanged questions rank the same either way: the whole set moves by this much
    for metric in ("recall@5", "mrr@10"):
        delta = (after["hybrid"][metric] - before["hybrid"][metric]) * len(changed) / len(items)
        print(f"  hybrid {metric} of the whole set with masking: {delta:+.4f} against as asked")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=REPO / "data" / "bench")
    args = ap.parse_args()
    guard = PiiGuard()
    guard.warm()
    jsquad = args.root / "jsquad"
    if (jsquad / "data").exists():
        retriever = HybridRetriever.from_settings(settings_for(jsquad / "data", jsquad / "kb"))
        measure("JSQuAD test", retriever, load_qa(jsquad / "qa.jsonl"), guard)
    else:
        print(f"no JSQuAD index under {jsquad}: build it with bench/retrieval.py --root {args.root}")
    seed = args.root / "seed"
    if (seed / "data").exists():
        retriever = HybridRetriever.from_settings(settings_for(seed / "data", seed / "kb"))
        for name in ("seed_qa", "seed_qa_holdout", "seed_qa_holdout2"):
            measure(name, retriever, load_qa(REPO / "tests" / "eval" / f"{name}.jsonl"), guard)


if __name__ == "__main__":
    main()
