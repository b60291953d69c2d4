"""Grounded answers: retrieve -> judge the evidence -> LLM answer with [n] citations (validated),
or an extractive answer quoting sentences; declines honestly when the documents do not cover it."""

from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from bot.answering import coverage, extractive, followup
from bot.answering.citations import renumber
from bot.answering.llm import build_chat_model, model_name
from bot.answering.messages import (DECLINE_TEXT, EMPTY_QUESTION_TEXT, LLM_FALLBACK_NOTE,
                                    NO_CITATION_NOTE, partial_note)
from bot.answering.prompts import PromptSet, neutralise
from bot.domain import Answer, HistoryTurn, Passage

log = logging.getLogger(__name__)

MAX_HISTORY_TURNS = 4
MAX_CONDENSED_CHARS = 300


def format_documents(passages: Sequence[Passage]) -> str:
    """The <documents> block body: one <document> per passage, every value neutralised so a
    document cannot close its block or open a fake one."""
    blocks = []
    for i, p in enumerate(passages, start=1):
        where = neutralise(p.source) + (f" p.{p.page}" if p.page else "")
        attrs = (f'index="{i}" title="{neutralise(p.title).replace(chr(34), "＂")}" '
                 f'section="{neutralise(p.section).replace(chr(34), "＂")}" '
                 f'source="{where.replace(chr(34), "＂")}"')
        blocks.append(f"<document {attrs}>\n{neutralise(p.text)}\n</document>")
    return "\n".join(blocks)


def format_history(history: Sequence[HistoryTurn]) -> str:
    lines = []
    for turn in history[-MAX_HISTORY_TURNS:]:
        lines.append(f"職員: {neutralise(turn.question)}")
        lines.append(f"アシスタント: {neutralise(turn.answer)[:400]}")
    return "\n".join(lines)


def fuse_rankings(first: Sequence[Passage], second: Sequence[Passage], k: int,
                  rrf_k: int = 20, second_weight: float = 1.0) -> list[Passage]:
    """Reciprocal-rank fusion of two passage lists (ties keep `first`'s order); the result keeps
    `first`'s `best_dense` (the evidence model reads it)."""
    score: dict[str, float] = {}
    by_id: dict[str, Passage] = {}
    for ranking, weight in ((first, 1.0), (second, second_weight)):
        for rank, p in enumerate(ranking, start=1):
            score[p.chunk_id] = score.get(p.chunk_id, 0.0) + weight / (rrf_k + rank)
            by_id.setdefault(p.chunk_id, p)
    order = {cid: i for i, cid in enumerate(by_id)}
    fused = sorted(by_id, key=lambda cid: (-score[cid], order[cid]))[:k]
    out = type(first)(by_id[cid] for cid in fused) if hasattr(first, "best_dense") else \
        [by_id[cid] for cid in fused]
    if hasattr(first, "best_dense"):
        out.best_dense = first.best_dense
    return out


def _is_timeout(exc: BaseException) -> bool:
    import httpx
    import openai

    seen = exc
    for _ in range(5):
        if isinstance(seen, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            break
    return False


class Answerer:
    # Passages an extractive answer quotes from (and whose wording the coverage check reads).
    quote_passages = 3

    def __init__(self, settings, retriever, *, llm=None, prompts: PromptSet | None = None, k: int = 5,
                 coverage_policy: coverage.CoveragePolicy | None = None):
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.prompts = prompts or PromptSet.load()
        self.k = k
        self.model = model_name(settings) if llm is not None else None
        self.coverage_policy = coverage_policy or coverage.CoveragePolicy()

    @classmethod
    def from_settings(cls, settings, retriever, **kw) -> "Answerer":
        return cls(settings, retriever, llm=build_chat_model(settings), **kw)

    @property
    def streaming(self) -> bool:
        """True when answers are generated (and can be streamed token by token)."""
        return self.llm is not None

    # ---- public ------------------------------------------------------------------------------
    def answer(self, question: str, history: Sequence[HistoryTurn] = (),
               on_token: Callable[[str], None] | None = None, *, k: int | None = None) -> Answer:
        start = time.perf_counter()
        question = (question or "").strip()
        if not question:
            return Answer(text=EMPTY_QUESTION_TEXT, answered=False, mode="none", latency_ms=0)
        k = k or self.k
        decision = followup.decide(question, history)
        standalone = self._standalone(question, list(history), decision)
        passages = self._search(question, standalone, decision, k)
        evidence = self.retriever.evidence(standalone, passages) if passages else 0.0
        # The coverage of the new question's own words declines only where the conversation
        # lent the evidence (see coverage.CoveragePolicy).
        policy = self.coverage_policy if decision.follow_up else self.coverage_policy.standalone()
        if not self.retriever.is_covered(evidence) and decision.fallback_context:
            # Topic words of its own, but not enough for the documents alone: read it in the
            # conversation, and then answer only if every topic term is found.
            retry = f"{decision.fallback_context}\n{question}"
            again = self.retriever.search(retry, k=k, focus=question)
            ev_again = self.retriever.evidence(retry, again) if again else 0.0
            if again and self.retriever.is_covered(ev_again):
                standalone, passages, evidence = retry, again, ev_again
                policy = policy.strict()
        base = dict(evidence=round(evidence, 4),
                    standalone_question=standalone if standalone != question else None)
        if not passages or not self.retriever.is_covered(evidence):
            return self._finish(start, self._decline(base))
        # Judged on the new question's own words, whatever came before it.
        key_terms = followup.terms(question).key_terms
        pool = passages if self.llm is not None else passages[: self.quote_passages]
        gap = coverage.check(key_terms, pool)
        if policy.declines(gap) or self._only_the_old_topic_is_covered(gap, history, policy):
            return self._finish(start, self._decline(base, gap.missing))
        fallback_reason = None
        if self.llm is not None:
            try:
                answer = self._llm_answer(standalone, passages, on_token, base)
                if answer is not None:
                    return self._finish(start, self._with_gap_note(answer, key_terms, policy))
                fallback_reason = "no_valid_citation"
            except Exception as exc:  # any failure of the model call: answer from the documents
                fallback_reason = "llm_timeout" if _is_timeout(exc) else "llm_error"
                log.warning("LLM call failed (%s: %s); falling back to the extractive answer",
                            type(exc).__name__, fallback_reason)
        answer = self._extractive_answer(standalone, question, passages, base, fallback_reason)
        if answer.answered:
            answer = self._with_gap_note(answer, key_terms, policy)
        return self._finish(start, answer)

    def _search(self, question: str, text: str, decision: followup.Decision, k: int):
        """A follow-up that names topic words of its own (「デジタル人材の派遣もありますか？」) is
        searched both alone and with its context; the two rankings are fused, so the context
        disambiguates without drowning the new words."""
        passages = self.retriever.search(text, k=k, focus=question)
        if text == question or not followup.terms(question).topic_words:
            return passages
        own = self.retriever.search(question, k=k, focus=question)
        return fuse_rankings(passages, own, k, second_weight=0.5)

    def _only_the_old_topic_is_covered(self, gap: coverage.Coverage, history, policy) -> bool:
        """A standalone question in a conversation whose only covered topic terms are the
        conversation's (「ふるさと納税の返礼品でおすすめのものは？」 after ふるさと納税): what is new
        in it is what the documents lack, so it is declined like any out-of-scope question."""
        if not history or policy.decline_share is not None or not gap.topic_terms:
            return False
        earlier = " ".join(turn.question for turn in history)
        # the new part counts whole here, facets included (税額控除の「割合」) — but only what is
        # new: a question asked again (after staff answered it, an FAQ entry was approved) brings
        # nothing the conversation did not have, so this rule does not decline it
        total = sum(min(len(t), 4) for t in gap.terms)
        new_missing = [t for t in gap.missing if t not in earlier]
        if sum(min(len(t), 4) for t in new_missing) < self.coverage_policy.decline_share * total:
            return False
        covered = [t for t in gap.topic_terms if t not in gap.missing]
        return all(t in earlier for t in covered)

    def _decline(self, base: dict, uncovered: Sequence[str] = ()) -> Answer:
        return Answer(text=DECLINE_TEXT, answered=False, mode="none", prompt_version=None,
                      model=None, uncovered=list(uncovered), **base)

    @staticmethod
    def _with_gap_note(answer: Answer, key_terms: Sequence[str],
                       policy: coverage.CoveragePolicy) -> Answer:
        """Say plainly which of the question's terms the cited passages do not mention."""
        missing = policy.noted(coverage.check(key_terms, answer.sources))
        if missing:
            answer.text = f"{answer.text}\n\n{partial_note(missing)}"
            answer.uncovered = list(missing)
        return answer

    # ---- steps -------------------------------------------------------------------------------
    def _standalone(self, question: str, history: list[HistoryTurn],
                    decision: followup.Decision) -> str:
        """The text to retrieve with: a standalone question as it is; a follow-up condensed by
        the LLM, or (no LLM, or condensing failed) the referent's question, then this one."""
        if not decision.follow_up:
            return question
        if self.llm is not None:
            try:
                condensed = self._condense(question, history)
                if condensed:
                    return condensed
            except Exception as exc:
                log.warning("condensing the follow-up failed (%s); using the conversation's "
                            "earlier question instead", type(exc).__name__)
        return decision.retrieval_text(question)

    def _condense(self, question: str, history: list[HistoryTurn]) -> str | None:
        from langchain_core.messages import HumanMessage, SystemMessage

        p = self.prompts
        messages = [SystemMessage(p.condense_system.render()),
                    HumanMessage(p.condense_user.render(history=format_history(history),
                                                        question=neutralise(question)))]
        reply = self.llm.invoke(messages)
        text = str(reply.content or "").strip().splitlines()
        condensed = text[0].strip().strip("「」\"'") if text else ""
        if not condensed or len(condensed) > MAX_CONDENSED_CHARS:
            return None
        return condensed

    def _llm_answer(self, question: str, passages: list[Passage],
                    on_token: Callable[[str], None] | None, base: dict) -> Answer | None:
        from langchain_core.messages import HumanMessage, SystemMessage

        p = self.prompts
        messages = [SystemMessage(p.answer_system.render()),
                    HumanMessage(p.answer_user.render(documents=format_documents(passages),
                                                      question=neutralise(question)))]
        if on_token is not None:
            parts: list[str] = []
            for chunk in self.llm.stream(messages):
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    parts.append(piece)
                    on_token(piece)
            raw = "".join(parts)
        else:
            raw = str(self.llm.invoke(messages).content or "")
        text, cited, invalid = renumber(raw.strip(), passages)
        if invalid:
            log.info("removed %d citation(s) to passages that were not given: %s", len(invalid), invalid)
        if not cited:
            return None
        return Answer(text=text, answered=True, mode="llm", sources=cited, model=self.model,
                      prompt_version=p.answer_version, **base)

    def _extractive_answer(self, retrieval_query: str, question: str, passages: list[Passage],
                           base: dict, fallback_reason: str | None) -> Answer:
        from ingest.tokenizer import tokenize

        quotes = extractive.select_sentences(
            retrieval_query, passages, tokenize,
            focus=question if retrieval_query != question else None,
            key_terms=followup.terms(question).key_terms)
        if not quotes:
            return Answer(text=DECLINE_TEXT, answered=False, mode="none",
                          fallback_reason=fallback_reason, **base)
        quotes = extractive.primary_first(quotes, passages, retrieval_query, tokenize)
        text, cited, _ = renumber(extractive.render_extractive(quotes, passages), passages)
        if fallback_reason:
            note = NO_CITATION_NOTE if fallback_reason == "no_valid_citation" else LLM_FALLBACK_NOTE
            text = f"{note}\n{text}"
        return Answer(text=text, answered=True, mode="extractive", sources=cited, model=None,
                      prompt_version=extractive.EXTRACTIVE_VERSION,
                      fallback_reason=fallback_reason, **base)

    @staticmethod
    def _finish(start: float, answer: Answer) -> Answer:
        answer.latency_ms = int((time.perf_counter() - start) * 1000)
        return answer
