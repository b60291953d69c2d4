"""Test-only fault injection: `CONSULT_TEST_KILL_AT=<step>[@<n>]` makes an ingest SIGKILL its own
process the n-th time (default: first) it reaches `<step>`, so tests and `bench/faultlib` can
prove that a real process killed at that point leaves an index the next ingest repairs.
Unset (always, outside tests), `checkpoint` does nothing.

Steps: begin, chroma_add (vectors written, their records not yet), chroma_delete (vectors
deleted, records not yet), lexical (BM25 built, manifest and marker not yet), manifest (manifest
saved, marker not yet), commit (marker switched, journal not finished), building (a rebuild's
new collection filled, nothing switched).
"""

from __future__ import annotations

import os
import signal

STEPS = ("begin", "chroma_add", "chroma_delete", "lexical", "manifest", "commit", "building")
_seen: dict[str, int] = {}


def checkpoint(settings, step: str) -> None:
    spec = getattr(settings, "test_kill_at", None)
    if not spec:
        return
    name, _, nth = spec.partition("@")
    if name != step:
        return
    _seen[step] = _seen.get(step, 0) + 1
    if _seen[step] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
