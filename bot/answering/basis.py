"""Pure helpers of the retriever: FAQ-basis lookups (an FAQ row's 該当箇所 column names the
document section it rests on), the primary-source-first arrangement, and per-source
diversification of the top-k."""

from __future__ import annotations

import logging
from typing import Sequence

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
    from ingest.errors import IndexUnavailable

    try:
        return handle.chunks_by_section(sections)
    except IndexUnavailable:
        raise  # the Chroma server is down: the whole answer fails politely (logged once)
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
            faq_slots: int, adds: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Flatten (row, basis chunks it brought) units best-first. A row that rests on a basis
    (`wanted`) comes after the document chunk it brought (`basis_first`: the primary source is
    cited first), and only `faq_slots` such rows keep their place (0 = all); later ones follow
    everything else, because their content restates document text the top-k holds or could —
    unless the row is in `adds`: it mentions something the question asks that nothing before it
    does (「隊員本人」 in a row about the 窓口), so it keeps its place too."""
    head: list[str] = []
    tail: list[str] = []
    faq_rows = 0
    for cid, brought in units:
        if cid not in wanted:
            head.append(cid)
            continue
        if faq_slots and faq_rows >= faq_slots and cid not in adds:
            head.extend(brought)
            tail.append(cid)
            continue
        faq_rows += 1
        head.extend(brought + [cid] if basis_first else [cid] + brought)
    return head + tail


def expand_basis(handle, kept: list[str], texts: dict, score: dict, k: int, *, cache: dict,
                 scope: str, per_row: int, own_first: bool, basis_first: bool, faq_slots: int,
                 doc_type: str | None = None, rank: dict | None = None,
                 terms: Sequence[str] = ()) -> list[str]:
    """FAQ rows in the top-k that name their basis (該当箇所) bring that section's chunk, placed
    before the row (`arrange`). `texts` (id -> (text, metadata)) and `score` are extended with
    the chunks brought; `cache` holds section -> chunks for the index generation; `terms` are the
    question's key terms (a later row that adds one keeps its place)."""
    from ingest.index import Chunk

    wanted: dict[str, str] = {}  # faq chunk id -> basis section path
    for cid in kept[:k]:
        meta = texts[cid][1]
        basis = basis_of(meta)
        if basis and basis != meta.get("section"):
            wanted[cid] = basis
    if not wanted:
        return kept
    sections = set(wanted.values())
    missing = sorted(sections - cache.keys())
    if missing:
        fetched = chunks_by_section(handle, missing)
        if len(cache) > 2048:
            cache.clear()
        for section in missing:
            cache[section] = fetched.get(section, [])
    found = {sec: cache.get(sec, []) for sec in sections}
    position = rank if rank is not None else {cid: i for i, cid in enumerate(kept)}
    if scope != "section":
        # The query's own candidates near the basis section count as its chunks too (FAQ
        # sheets often name the parent heading only, or a neighbouring clause).
        for sec in sections:
            have = {c.chunk_id for c in found.get(sec, [])}
            extra = [Chunk(cid, t, m) for cid, (t, m) in texts.items()
                     if cid in position and cid not in have and
                     in_basis_scope(str(m.get("section", "")), sec, scope)]
            if extra:
                found[sec] = list(found.get(sec, [])) + extra
    units: list[tuple[str, list[str]]] = []  # (row id, basis ids it brought)
    placed: set[str] = set()
    for cid in kept:
        if cid in placed:
            continue
        placed.add(cid)
        brought: list[str] = []
        units.append((cid, brought))
        basis = wanted.get(cid)
        candidates = [c for c in found.get(basis, []) if c.chunk_id != cid and
                      (doc_type is None or c.metadata.get("doc_type") == doc_type)]
        if not candidates:
            continue

        # The basis chunk already ranked highest, else the first chunk of that section. With
        # `own_first`, a chunk of the named section itself comes before one of its subsections,
        # and those before a neighbour's: the FAQ author named the section (a row about (1)
        # never brings the sibling (3); a row naming VI brings VI's own text).
        def order(c, basis=basis) -> tuple:
            section = str(c.metadata.get("section", ""))
            tier = 0 if section == basis else 1 if in_basis_scope(section, basis, "sub") else 2
            return (tier if own_first else 0, position.get(c.chunk_id, 10 ** 6))

        for bid, btext, bmeta in sorted(candidates, key=order):
            if len(brought) >= per_row or (brought and bid not in position):
                break
            if bid in placed:
                continue
            texts.setdefault(bid, (btext, bmeta))
            score[bid] = max(score.get(bid, 0.0), score.get(cid, 0.0))  # stands in for the row
            brought.append(bid)
            placed.add(bid)
    return arrange(units, wanted, basis_first=basis_first, faq_slots=faq_slots,
                   adds=rows_that_add(units, wanted, texts, terms))


def rows_that_add(units, wanted: dict, texts: dict, terms: Sequence[str]) -> set[str]:
    """FAQ rows that mention a key term of the question no passage before them mentions."""
    from bot.answering.passages import split_heading
    from bot.answering.rescoring import mentioned
    from ingest.tokenizer import tokenize

    if not terms:
        return set()
    seen: set[str] = set()
    adds: set[str] = set()
    for cid, brought in units:
        for bid in brought:
            seen |= mentioned(terms, split_heading(*texts[bid]), tokenize)
        own = mentioned(terms, split_heading(*texts[cid]), tokenize)
        if cid in wanted and own - seen:
            adds.add(cid)
        seen |= own
    return adds
