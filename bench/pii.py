"""PII guard benchmark (issue 14): per-type recall on tests/eval/pii.jsonl (tuning and held-out
separately), false-positive rate on the clean messages, and the latency the guard adds per
question — with the old regex masker (bench/pii_baseline.py) measured in the same process.

    python bench/pii.py [--no-ner] [--repeat 3] [--misses] [--window N]

A finding counts when every character of the annotated span is covered by a span of the same
type (a partly masked phone number still leaks); "any type" counts coverage by any placeholder.
A clean message is a false positive when anything in it is masked. Latency: wall time of one
mask() call per message (after the model is loaded; the load time is printed apart). The NER
model reads short windows around name candidates; the former whole-message reading is measured
in the same process as the baseline, interleaved message by message with the windowed guard.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.pii import KINDS, PiiGuard  # noqa: E402

TYPES = ("phone", "my_number", "email", "name", "address", "birth_date")
GOALS = {"phone": 0.98, "my_number": 0.98, "email": 0.98, "name": 0.90, "address": 0.90,
         "birth_date": 0.90}
OLD_KINDS = {"my_number": "my_number", "phone": "phone", "email": "email"}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def covered(span: dict, found: list[tuple[int, int, str]], same_type: bool) -> bool:
    chars = [i for i in range(span["start"], span["end"]) if not span["text"][i - span["start"]].isspace()]
    return all(any(s <= i < e and (not same_type or k == span["type"]) for s, e, k in found)
               for i in chars)


def baseline_spans(text: str) -> list[tuple[int, int, str]]:
    """The old masker reports no offsets: re-run its regexes to get them."""
    import pii_baseline as old

    out = []
    for rx, kind, ok in ((old._EMAIL, "email", lambda m: True),
                         (old._MY_NUMBER, "my_number", lambda m: old.is_valid_my_number(m.group(0))),
                         (old._PHONE, "phone", lambda m: old._digit_count(m.group(0)) in (10, 11, 12, 13))):
        out += [(m.start(), m.end(), kind) for m in rx.finditer(text) if ok(m)]
    return out


def evaluate(rows, find, misses=False):
    res = {}
    for split in ("tune", "heldout"):
        part = [r for r in rows if r["split"] == split]
        per = {t: [0, 0, 0] for t in TYPES}     # hits, any-type hits, total
        fp = 0
        clean = 0
        for r in part:
            found = find(r["text"])
            if not r["spans"]:
                clean += 1
                if found:
                    fp += 1
                    if misses:
                        print(f"  FP [{split}] {r['text']}  ->  " + ", ".join(
                            f"{r['text'][s:e]}:{k}" for s, e, k in found))
                continue
            for sp in r["spans"]:
                p = per[sp["type"]]
                p[2] += 1
                hit = covered(sp, found, True)
                p[0] += hit
                p[1] += covered(sp, found, False)
                if misses and not hit:
                    print(f"  MISS [{split}] {sp['type']}: {sp['text']!r} in {r['text']}  ->  " +
                          ", ".join(f"{r['text'][s:e]}:{k}" for s, e, k in found))
        res[split] = {"per": per, "fp": fp, "clean": clean}
    return res


def latency(rows, fns, repeat: int) -> list[tuple[float, float, float]]:
    """p50 / p95 / max per function; the functions take turns on each message (a shared
    machine's load swings hit them alike)."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for r in rows:
            for ts, fn in zip(times, fns):
                t = time.perf_counter()
                fn(r["text"])
                ts.append((time.perf_counter() - t) * 1000)
    out = []
    for ts in times:
        ts.sort()
        out.append((statistics.median(ts), ts[int(0.95 * (len(ts) - 1))], ts[-1]))
    return out


def report(title, res):
    print(f"\n{title}")
    print(f"  {'type':<11} {'tune':>14} {'held-out':>14}   goal   (any placeholder: tune / held-out)")
    for t in TYPES:
        cells = []
        anys = []
        for split in ("tune", "heldout"):
            h, a, n = res[split]["per"][t]
            cells.append(f"{h / n:.3f} ({h}/{n})" if n else "-")
            anys.append(f"{a / n:.3f}" if n else "-")
        goal = GOALS[t]
        print(f"  {t:<11} {cells[0]:>14} {cells[1]:>14}   ≥{goal:.2f}  ({anys[0]} / {anys[1]})")
    for split in ("tune", "heldout"):
        r = res[split]
        print(f"  false positives on clean messages [{split}]: {r['fp']}/{r['clean']} = "
              f"{r['fp'] / r['clean']:.1%} (goal ≤ 2 %)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "tests/eval/pii.jsonl"))
    ap.add_argument("--no-ner", action="store_true", help="the fast path only (no names)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--misses", action="store_true", help="print every miss and false positive")
    ap.add_argument("--window", type=int, default=None,
                    help="tokens either side of a name candidate (default: bot.pii.names.WINDOW)")
    ap.add_argument("--retrieval-inputs", action="store_true",
                    help="which questions of bench/retrieval.py's sets masking changes")
    args = ap.parse_args()
    if args.retrieval_inputs:
        return retrieval_inputs(PiiGuard(ner=not args.no_ner).warm())
    rows = load(Path(args.data))
    print(f"{len(rows)} messages ({sum(1 for r in rows if r['spans'])} with personal data, "
          f"{sum(1 for r in rows if not r['spans'])} clean); load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} CPUs")
    if args.window is not None:
        from bot.pii import names

        names.WINDOW = args.window
    guard = PiiGuard(ner=not args.no_ner)
    whole = PiiGuard(ner=not args.no_ner, ner_whole_message=True)
    t = time.perf_counter()
    guard.warm()
    print(f"guard warm-up (model load): {time.perf_counter() - t:.2f} s")

    def finder(g):
        return lambda text: [(s.start, s.end, s.kind) for s in g.find(text)]

    report("baseline: the old regex masker (bench/pii_baseline.py)", evaluate(rows, baseline_spans))
    if not args.no_ner:
        report("baseline: PII guard, NER on the whole message", evaluate(rows, finder(whole)))
    from bot.pii.names import WINDOW

    report("PII guard (bot/pii" + (", no NER)" if args.no_ner else
                                   f", GiNZA NER on ±{WINDOW} tokens around name candidates)"),
           evaluate(rows, finder(guard), misses=args.misses))
    import pii_baseline as old

    print("\nlatency added per question (ms: p50 / p95 / max), every message, "
          f"{args.repeat} rounds, interleaved, load average {os.getloadavg()[0]:.2f}")
    fns = {"baseline regex": old.mask_pii, "guard, whole message": whole.mask,
           "PII guard": guard.mask}
    if args.no_ner:
        del fns["guard, whole message"]
    for name, (p50, p95, mx) in zip(fns, latency(rows, list(fns.values()), args.repeat)):
        goal = "   (goal p95 ≤ 30 ms)" if name == "PII guard" else ""
        print(f"  {name + ':':<22} {p50:.2f} / {p95:.2f} / {mx:.2f}{goal}")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


def retrieval_inputs(guard) -> None:
    """Masking runs before retrieval: a question it leaves unchanged is retrieved exactly as
    before, so the retrieval figures of these sets can only move through the changed ones."""
    sets = {}
    for path in sorted((ROOT / "tests/eval").glob("*.jsonl")):
        if path.name in ("pii.jsonl", "knowledge_loop.jsonl"):
            continue
        qs = []
        for row in load(path):
            if "turns" in row:
                qs += [t["question"] for t in row["turns"]]
            elif "question" in row:
                qs.append(row["question"])
        sets[path.name] = qs
    jsquad = ROOT.parent / "shared" / "corpora" / "jsquad" / "test-v1.3.json"
    if not jsquad.exists():
        jsquad = Path("/work/shared/corpora/jsquad/test-v1.3.json")
    if jsquad.exists():
        data = json.loads(jsquad.read_text(encoding="utf-8"))["data"]
        sets["JSQuAD test"] = [qa["question"] for art in data for para in art["paragraphs"]
                               for qa in para["qas"]]
    print(f"questions that masking changes (load average {os.getloadavg()[0]:.2f})")
    for name, qs in sets.items():
        changed = []
        for q in qs:
            masked, kinds = guard.mask(q)
            if masked != q:
                changed.append((q, masked, kinds))
        print(f"  {name:<34} {len(changed):>4} / {len(qs):<5} changed")
        for q, masked, kinds in changed[:8]:
            print(f"      {q}  ->  {masked}  {kinds}")


if __name__ == "__main__":
    main()
