"""Fault benchmarks: every `bench/faultlib/<area>.py` scenario as an automated run with figures.

    nice -n 10 .venv/bin/python bench/faults.py [--only ingest] [--quick] [--json]

Each module's `run(args)` returns its figures; they are printed per area (and as one JSON object
with --json). Note the load average printed at the top next to the figures you report.
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
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print(f"load average: before {results['load_average']}, after {results['load_average_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
