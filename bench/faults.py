"""Fault benchmarks: every `bench/faultlib/<area>.py` scenario as an automated run with figures.

    nice -n 10 .venv/bin/python bench/faults.py [--only ingest] [--quick] [--json]

Each module's `run(args)` returns its figures; they are printed per area (and as one JSON object
with --json) and written to bench/results/faults.json. A module that reports `scenarios` (a list
of dicts with `name` and `ok`, e.g. faultlib/delivery.py: deliveries sent, answered, handed to
staff, lost, duplicated, ack p50/p99) also gets a summary table; any `"ok": false` anywhere in the
figures makes the run exit 1. Note the load average printed next to the figures you report.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "bench"))  # after REPO: bench/ingest.py must not shadow the package

import faultlib  # noqa: E402


def areas() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(faultlib.__path__) if not m.name.startswith("_"))


SUMMARY = (("sent", "sent"), ("answered", "answered"), ("handed_to_staff", "to staff"),
           ("lost", "lost"), ("duplicated", "doubled"), ("ack_p50_ms", "ack p50"),
           ("ack_p99_ms", "ack p99"), ("answer_p50_ms", "ans p50"), ("answer_p95_ms", "ans p95"))


def failures(figures) -> list[str]:
    """Paths of every `"ok": false` in a module's figures."""
    out: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            if value.get("ok") is False:
                out.append(path or "(area)")
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                name = inner.get("name", i) if isinstance(inner, dict) else i
                walk(inner, f"{path}[{name}]")

    walk(figures, "")
    return out


def _table(area: str, scenarios: list[dict]) -> None:
    print("\n" + "scenario".ljust(40) + "".join(h.rjust(9) for _, h in SUMMARY) + "  result")
    for s in scenarios:
        cells = "".join(("—" if s.get(k) is None else str(s.get(k))).rjust(9) for k, _ in SUMMARY)
        print(f"{area}.{s.get('name')}"[:40].ljust(40) + cells + "  " +
              ("PASS" if s.get("ok") else "FAIL " + str(s.get("error", ""))[:80]))


def _print(figures, indent: int = 2) -> None:
    for key, value in figures.items():
        if isinstance(value, dict):
            print(" " * indent + f"{key}:")
            _print(value, indent + 2)
        else:
            print(" " * indent + f"{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=areas(), help="run only this area (repeatable)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller inputs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    modules = {name: importlib.import_module(f"faultlib.{name}") for name in areas()}
    for module in modules.values():
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args = parser.parse_args(argv)
    results: dict = {"load_average": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        for name in args.only or list(modules):
            args.workdir_area = (args.workdir or Path(tmp)) / name
            args.workdir_area.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            if not args.json:
                print(f"== {name}", flush=True)
            figures = modules[name].run(args)
            figures["elapsed_s"] = round(time.perf_counter() - started, 1)
            results[name] = figures
            if not args.json:
                _print(figures)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    failed = {name: failures(figures) for name, figures in results.items()
              if isinstance(figures, dict)}
    failed = {name: paths for name, paths in failed.items() if paths}
    results["failed"] = failed
    out = REPO / "bench" / "results" / "faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, default=str))
    else:
        for name, figures in results.items():
            if isinstance(figures, dict) and isinstance(figures.get("scenarios"), list):
                _table(name, figures["scenarios"])
        print(f"load average: before {results['load_average']}, after {results['load_average_after']}")
        print("RESULT: " + ("PASS" if not failed else f"FAIL {failed}") + f"  ({out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
