"""Japanese free-text search over the cases' questions and answers (masked text only: questions
are masked before they are stored, answers never carry the officer's data). A case's title is the
beginning of its first question (``lifecycle.make_title``), so searching the questions covers it.

Japanese has no spaces between words, so the search matches substrings, with the character
trigram indexes of revision 0005: an SQLite FTS5 ``trigram`` table (``consult_turns_fts``) and
PostgreSQL ``pg_trgm`` GIN indexes used by ``ILIKE``. Each term is a semi-join of the cases with
their matching turns, so the database can either look the term up in the index or check the
turns of the few cases another filter left (PostgreSQL picks by cost).

- The query is split on spaces (half- or full-width); every term must occur in the case (in any
  of its turns) — terms may match different turns.
- A term of one or two characters has no trigram: it is matched by scanning the questions only (answers are long and contain most short words; scanning them would be slow and
  match nearly everything). ``plan(q).notice`` says so to the person searching.
- Matching ignores ASCII case on both backends; ``%``, ``_`` and quotes are taken literally.
  On PostgreSQL a term without cased letters (most Japanese terms) is matched with ``LIKE``, not
  ``ILIKE``: the same trigram index, but the recheck of each candidate row does not lower-case
  its whole text first (about a quarter less time on terms that occur in many answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, column, or_, select, table

from bot.cases.models import CaseRow, TurnRow

MIN_TRIGRAM = 3
MAX_TERMS = 8
MAX_TERM_CHARS = 100
SHORT_TERM_NOTICE = ("2 文字以下の語（{terms}）は件名（最初の質問）だけから探しています。"
                     "3 文字以上の語は、すべての質問と回答から探します。")
_SPACE = re.compile(r"[\s\u3000]+")

_turns_fts = table("consult_turns_fts", column("rowid"), column("consult_turns_fts"))


@dataclass(frozen=True)
class SearchPlan:
    terms: tuple[str, ...]
    short_terms: tuple[str, ...]      # terms matched against the titles only

    @property
    def notice(self) -> str | None:
        if not self.short_terms:
            return None
        return SHORT_TERM_NOTICE.format(terms="、".join(f"「{t}」" for t in self.short_terms))


def plan(q: str | None) -> SearchPlan:
    terms: list[str] = []
    for term in _SPACE.split((q or "").strip()):
        term = term[:MAX_TERM_CHARS]
        if term and term not in terms:
            terms.append(term)
    terms = terms[:MAX_TERMS]
    return SearchPlan(tuple(terms), tuple(t for t in terms if len(t) < MIN_TRIGRAM))


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def caseless(term: str) -> bool:
    """True when no character of ``term`` has an upper or lower case form (kana, kanji, digits,
    punctuation): matching it ignoring case is the same as matching it exactly."""
    return term.lower() == term == term.upper()


def _like(column, term: str, pattern: str):
    return (column.like(pattern, escape="\\") if caseless(term)
            else column.ilike(pattern, escape="\\"))


def _term_condition(dialect: str, term: str) -> ColumnElement[bool]:
    """The case contains ``term``: a turn's question or answer (the title for short terms)."""
    pattern = _like_pattern(term)
    if len(term) < MIN_TRIGRAM:  # no trigram: the titles only (SQLite's LIKE ignores ASCII case)
        if dialect == "sqlite":
            return CaseRow.title.like(pattern, escape="\\")
        return _like(CaseRow.title, term, pattern)
    if dialect == "sqlite":
        turn_ids = select(_turns_fts.c.rowid).where(
            _turns_fts.c.consult_turns_fts.op("MATCH")(_fts_phrase(term)))
        return CaseRow.id.in_(select(TurnRow.case_id).where(TurnRow.id.in_(turn_ids)))
    return CaseRow.id.in_(select(TurnRow.case_id).where(
        or_(_like(TurnRow.question, term, pattern), _like(TurnRow.answer, term, pattern))))


def condition(dialect: str, search: SearchPlan) -> ColumnElement[bool] | None:
    """A WHERE condition on ``CaseRow``: every term occurs in the case; None without terms."""
    if not search.terms:
        return None
    return and_(*(_term_condition(dialect, t) for t in search.terms))

