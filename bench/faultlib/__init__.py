"""Fault scenarios run by `bench/faults.py`, one module per area.

Contract: a module defines `run(args) -> dict` (figures, JSON-serialisable; nested dicts per
scenario) and may define `add_arguments(parser)` for its own options. `args` carries the
runner's options (`args.only`, `args.quick`, `args.workdir_area`: this module's scratch folder)
plus the module's own. Scenarios use
real processes and real servers and leave nothing behind outside it.
"""
