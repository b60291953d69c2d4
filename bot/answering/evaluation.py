"""Retrieval evaluation shared by `consult eval` and `bench/retrieval.py`.

A QA line is `{"question": ..., "expected_text": ...}` (hit: a retrieved chunk contains the text
after NFKC normalisation, whitespace ignored) or `{"question": ..., "expected_source": ...}` (hit:
a retrieved chunk's `source` equals it).
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from bot.domain import Passage


@dataclass(frozen=True)
class QAItem:
    question: str
    expected_text: str | None = None
    expected_source: str | None = None


class QAFileError(ValueError):
    pass


def load_qa(path: Path) -> list[QAItem]:
    items = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise QAFileError(f"評価ファイルを読み込めませんでした: {path} ({exc.strerror})") from exc
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise QAFileError(f"{path}:{no}: JSON として読めません ({exc.msg})") from exc
        if not isinstance(obj, dict) or not str(obj.get("question", "")).strip():
            raise QAFileError(f"{path}:{no}: \"question\" がありません")
        if not obj.get("expected_text") and not obj.get("expected_source"):
            raise QAFileError(f"{path}:{no}: \"expected_text\" か \"expected_source\" が必要です")
        items.append(QAItem(obj["question"], obj.get("expected_text"), obj.get("expected_source")))
    if not items:
        raise QAFileError(f"{path}: 評価用の質問が1件もありません")
    return items


_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    return _WS.sub("", unicodedata.normalize("NFKC", text or ""))


def is_hit(item: QAItem, passage: Passage) -> bool:
    if item.expected_source is not None:
        return passage.source == item.expected_source
    return norm(item.expected_text) in norm(f"{passage.section}\n{passage.text}")


def first_hit_rank(item: QAItem, passages: Sequence[Passage]) -> int | None:
    for rank, p in enumerate(passages, start=1):
        if is_hit(item, p):
            return rank
    return None


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[idx]


def metrics(ranks: Sequence[int | None], latencies_ms: Sequence[float]) -> dict:
    n = len(ranks)

    def recall(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0

    mrr = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n if n else 0.0
    return {
        "n": n,
        "recall@1": round(recall(1), 4),
        "recall@5": round(recall(5), 4),
        "recall@10": round(recall(10), 4),
        "mrr@10": round(mrr, 4),
        "latency_ms_p50": round(percentile(latencies_ms, 50), 2),
        "latency_ms_p95": round(percentile(latencies_ms, 95), 2),
    }


def evaluate(items: Iterable[QAItem], search: Callable[[str], list[Passage]]) -> tuple[dict, list[int | None]]:
    ranks, lat = [], []
    for item in items:
        start = time.perf_counter()
        passages = search(item.question)
        lat.append((time.perf_counter() - start) * 1000.0)
        ranks.append(first_hit_rank(item, passages))
    return metrics(ranks, lat), ranks
