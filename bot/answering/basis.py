"""Pure helpers of the retriever: FAQ-basis lookups (an FAQ row's 該当箇所 column names the
document section it rests on), the primary-source-first arrangement, and per-source
diversification of the top-k."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# FAQ-sheet columns naming the document section an answer rests on.
BASIS_KEYS = ("該当箇所", "根拠", "根拠箇所", "出典", "参照", "basis", "reference")


def basis_of(metadata: dict) -> str | None:
    """The section path a chunk's metadata names as its basis (FAQ rows), else None."""
    return next((str(metadata[key]).strip() for key in BASIS_KEYS
                 if str(metadata.get(key) or "").strip()), None)


def chunks_by_section(handle, sections: list[str]) -> dict[str, list]:
    """The index's chunks of each section path (`IndexHandle.chunks_by_section`: Chunk(chunk_id,
    text, metadata) each). A failed lookup answers without the basis rather than failing."""
    try:
        return handle.chunks_by_section(sections)
    except Exception:
        log.warning("basis lookup failed; answering without it", exc_info=True)
        return {}


def in_basis_scope(section: str, basis: str, scope: str) -> bool:
    """Is `section` (a "A > B > C" heading path) within reach of the FAQ basis path `basis`?"""
    if section == basis or section.startswith(basis + " > "):
        return True
    parts = basis.split(" > ")
    if len(parts) < 2:
        return False
    parent = " > ".join(parts[:-1])
    if scope == "parent":
        return section == parent
    if scope == "siblings":
        return section == parent or section.startswith(parent + " > ")
    return False


def diversify(ids: list[str], source_of, k: int, max_per_source: int) -> list[str]:
    """Best-first ids, at most `max_per_source` per source; the skipped ones are appended (in
    their order) when fewer than `k` remain."""
    if max_per_source <= 0:
        return ids[:k]
    chosen, skipped, per = [], [], {}
    for cid in ids:
        src = source_of(cid)
        if per.get(src, 0) < max_per_source:
            per[src] = per.get(src, 0) + 1
            chosen.append(cid)
        else:
            skipped.append(cid)
        if len(chosen) >= k:
            break
    if len(chosen) < k:
        chosen += skipped[: k - len(chosen)]
    return chosen


def arrange(units: list[tuple[str, list[str]]], wanted: dict, *, basis_first: bool,
            faq_slots: int) -> list[str]:
    """Flatten (row, basis chunks it brought) units best-first. A row that rests on a basis
    (`wanted`) comes after the document chunk it brought (`basis_first`: the primary source is
    cited first), and only `faq_slots` such rows keep their place (0 = all); later ones follow
    everything else, because their content restates document text the top-k holds or could."""
    head: list[str] = []
    tail: list[str] = []
    faq_rows = 0
    for cid, brought in units:
        if cid not in wanted:
            head.append(cid)
            continue
        if faq_slots and faq_rows >= faq_slots:
            head.extend(brought)
            tail.append(cid)
            continue
        faq_rows += 1
        head.extend(brought + [cid] if basis_first else [cid] + brought)
    return head + tail
