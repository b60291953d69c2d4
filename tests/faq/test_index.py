"""Approved entries in the index: answered (cited as a staff answer, primary source first),
retired -> no longer cited, only changed entries embedded, a plain ingest leaves them alone,
`consult ingest --rebuild` keeps them, a rebuild that did not know them is repaired by the next
sync round, and `consult faq export` writes a sheet the FAQ loader reads back."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.answering.answerer import Answerer
from bot.answering.basis import in_basis_scope
from bot.answering.retriever import HybridRetriever
from bot.cases.policy import DefaultStaffPolicy
from bot.cases.store import CaseStore
from bot.cli import app as cli_app
from bot.faq.index import EXTERNAL_NAME, entry_id_of_source
from tests.faq.conftest import faq_service
from bot.faq.sync import FaqIndexSync
from ingest.external import external_ids
from tests.ingest.conftest import CountingEmbeddings

OPERATOR = "cli:operator"
QUESTION = "公用車を電気自動車に更新するとき、使える補助制度はありますか？"
ASK = "庁用車をEVに買い替える場合の補助金を教えてください。"
ANSWER = ("公用車の電気自動車への更新には、環境省の「地域脱炭素移行・再エネ推進交付金」が活用できます。"
          "道の地域づくり総合交付金では車両の購入費は対象外です。詳しくは振興局の環境生活課にご相談ください。")
BASIS = "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金"


@pytest.fixture
def world(indexed_settings):
    settings = indexed_settings(CONSULT_LOCAL_OPERATOR=OPERATOR)
    store = CaseStore.from_settings(settings)
    counting = CountingEmbeddings()
    sync = FaqIndexSync(settings, store, interval=0.2, embeddings=counting)
    faq = faq_service(store, DefaultStaffPolicy(local_operator=OPERATOR), on_change=sync.wake)
    retriever = HybridRetriever.from_settings(settings)
    answerer = Answerer(settings, retriever)

    class World:
        pass

    w = World()
    w.settings, w.store, w.sync, w.faq, w.answerer, w.counting = \
        settings, store, sync, faq, answerer, counting
    yield w
    sync.stop()
    store.close()


def cited_entries(answer) -> list[int]:
    return [i for i in (entry_id_of_source(p.source) for p in answer.sources) if i is not None]


def test_approved_is_answered_retired_is_not_and_only_changes_are_embedded(world):
    before = world.answerer.answer(ASK)
    assert not before.answered                      # the knowledge base does not cover it
    assert world.sync.sync_once() is None or world.counting.count == 0   # nothing approved yet

    entry = world.faq.create(OPERATOR, question=QUESTION, answer=ANSWER, section=BASIS,
                             category="地域づくり総合交付金", approve=True).entry
    report = world.sync.sync_once()
    assert report.added == 1 and report.deleted == 0 and world.counting.count == 1
    after = world.answerer.answer(ASK)
    assert after.answered and cited_entries(after) == [entry.id]
    staff = next(p for p in after.sources if entry_id_of_source(p.source) == entry.id)
    assert staff.title == entry.label and staff.title.startswith("職員回答（") and staff.basis == BASIS
    assert "地域脱炭素移行" in after.text
    # primary source first: the retrieval puts a chunk of the 該当箇所 (the retriever's basis
    # scope: that section or its siblings) right before the entry
    ranked = world.answerer.retriever.search(ASK, k=5)
    position = next(i for i, p in enumerate(ranked) if entry_id_of_source(p.source) == entry.id)
    primary = ranked[position - 1]
    assert position > 0 and primary.doc_type == "strategy"
    assert in_basis_scope(primary.section, BASIS, world.answerer.retriever.basis_scope)

    assert world.sync.sync_once() is None            # nothing moved: no work, nothing embedded
    assert world.counting.count == 1

    # an edit re-embeds only that entry; a new draft embeds nothing
    world.faq.create(OPERATOR, question="下書きの質問", answer="下書きの回答")
    world.faq.edit(OPERATOR, entry.id, question=QUESTION, answer=ANSWER + "（2026年度）",
                   section=BASIS, category="地域づくり総合交付金")
    report = world.sync.sync_once()
    assert (report.added, report.deleted) == (1, 1) and world.counting.count == 2
    assert len(external_ids(world.answerer.retriever.handle()._collection, EXTERNAL_NAME)) == 1

    world.faq.retire(OPERATOR, entry.id)
    report = world.sync.sync_once()
    assert (report.added, report.deleted) == (0, 1)
    gone = world.answerer.answer(ASK)
    assert cited_entries(gone) == [] and not gone.answered


def test_a_question_declined_before_is_answered_when_asked_again(world):
    """An officer asks again in the same thread after staff made an FAQ entry of the answer."""
    from bot.answering.messages import DECLINE_TEXT
    from bot.domain import HistoryTurn

    first = world.answerer.answer(ASK)
    assert not first.answered
    entry = world.faq.create(OPERATOR, question=QUESTION, answer=ANSWER, approve=True).entry
    world.sync.sync_once()
    again = world.answerer.answer(ASK, [HistoryTurn(ASK, DECLINE_TEXT)])
    assert again.answered and cited_entries(again) == [entry.id]
    assert f"『{entry.label}』に次の記載があります。" in again.text


def test_the_background_sync_follows_approvals_by_itself(world):
    import time

    world.sync.start()
    entry = world.faq.create(OPERATOR, question=QUESTION, answer=ANSWER, approve=True).entry
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cited_entries(world.answerer.answer(ASK)) == [entry.id]:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the approved entry was not answered within 30 s")


def test_ingest_keeps_entries_rebuild_included(world, monkeypatch, tmp_path):
    entry = world.faq.create(OPERATOR, question=QUESTION, answer=ANSWER, approve=True).entry
    world.sync.sync_once()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("CONSULT_KNOWLEDGE_DIR", str(world.settings.knowledge_dir))
    runner = CliRunner()

    plain = runner.invoke(cli_app, ["ingest", "--json"])       # nothing of the folder changed
    assert plain.exit_code == 0, plain.output
    assert cited_entries(world.answerer.answer(ASK)) == [entry.id]

    rebuilt = runner.invoke(cli_app, ["ingest", "--rebuild"])   # a new collection, switched to
    assert rebuilt.exit_code == 0, rebuilt.output
    assert world.counting.count == 1                 # carried over, never embedded again
    assert cited_entries(world.answerer.answer(ASK)) == [entry.id]
    seen = world.sync.sync_once()                    # the round sees the new generation ...
    assert seen is not None and not seen.changed     # ... and finds nothing to do

    # an ingest told to drop everything that is not its folder's removes them ...
    from ingest.pipeline import run_ingest

    run_ingest(world.settings, rebuild=True, prune_foreign=True)
    assert cited_entries(world.answerer.answer(ASK)) == []
    # ... and the next sync round sees the new generation and puts them back (from the cache)
    report = world.sync.sync_once()
    assert report is not None and report.added == 1 and world.counting.count == 1
    assert cited_entries(world.answerer.answer(ASK)) == [entry.id]


def test_export_writes_a_sheet_the_faq_loader_reads(world, monkeypatch, tmp_path):
    from ingest.chunks import document_chunks
    from ingest.loaders.faq import load_csv

    one = world.faq.create(OPERATOR, question=QUESTION, answer=ANSWER, section=BASIS,
                           category="地域づくり総合交付金", approve=True).entry
    two = world.faq.create(OPERATOR, question="除雪ボランティア, \"保険\" は？",
                           answer="社会福祉協議会の\nボランティア保険をご案内しています。", approve=True).entry
    three = world.faq.create(OPERATOR, question="=HYPERLINK(\"http://x.invalid\") は使えますか？",
                             answer="@SUM のような書き方は文字として扱います。", approve=True).entry
    world.faq.create(OPERATOR, question="下書き", answer="まだ承認されていない")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("CONSULT_LOCAL_OPERATOR", OPERATOR)
    out = tmp_path / "kb" / "faq" / "staff_answers.csv"
    result = CliRunner().invoke(cli_app, ["faq", "export", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    raw = out.read_text(encoding="utf-8-sig")
    assert "\"'=HYPERLINK(" in raw and ",'@SUM " in raw      # neutralised for Excel
    document = load_csv(out)
    assert [(r.question, r.answer, r.section, r.extra.get("該当箇所")) for r in document.records] == [
        (QUESTION, ANSWER, "地域づくり総合交付金", BASIS),
        (two.question, two.answer, "", None), (three.question, three.answer, "", None)]
    assert document.records[0].extra["出典"] == one.label
    chunks = document_chunks(document, "faq/staff_answers.csv")
    assert chunks[0].metadata["該当箇所"] == BASIS and chunks[0].metadata["doc_type"] == "faq"
    assert not (world.settings.knowledge_dir / "faq" / "staff_answers.csv").exists()


def test_a_chunk_deleted_by_another_writer_before_the_reload_is_left_out(world):
    """Between a sync's delete and this process's reload, Chroma still finds the deleted id
    (without its text); the retriever must neither crash nor count its similarity."""
    entry = world.faq.create(OPERATOR, question=QUESTION, answer=ANSWER, approve=True).entry
    world.sync.sync_once()
    retriever = world.answerer.retriever
    handle = retriever.handle()                       # loaded with the entry in it
    assert cited_entries(world.answerer.answer(ASK)) == [entry.id]
    world.faq.retire(OPERATOR, entry.id)
    world.sync.sync_once()                            # deleted through another Chroma client
    stale = handle.dense_search(ASK, 10)
    assert any(hit[2] is None for hit in stale)       # the stale view still returns the id
    ranked = retriever._assemble(handle, stale, handle.lexical_search(ASK, 10), 5, "hybrid")
    assert all(entry_id_of_source(p.source) is None for p in ranked)
    assert ranked.best_dense < max(hit[1] for hit in stale)


def test_a_quoted_staff_answer_is_preceded_by_its_primary_source():
    from bot.answering.extractive import primary_first, render_extractive, select_sentences
    from bot.domain import Passage
    from ingest.tokenizer import tokenize

    doc = Passage("d1", "地域の課題解決や地域活性化を図るため、市町村等の創意あふれる主体的な取組を支援。",
                  "strategy/s.md", "北海道総合戦略", BASIS, None, "strategy", 1.0)
    sibling = Passage("d2", "市町村がデジタルの活用等による地域創生に資する施策に継続的に取り組む。", "strategy/s.md",
                      "北海道総合戦略", "VI 市町村戦略支援 > 1 財政的支援 > (3) 国の地方創生関係交付金の活用に向けた支援",
                      None, "strategy", 0.9)
    entry = Passage("e1", f"Q: {QUESTION}\nA: {ANSWER}", "staff-faq/7", "職員回答（2026-12-03 承認）",
                    "", None, "faq", 0.8, basis=BASIS, external=EXTERNAL_NAME)
    # the staff answer is what answers the question; say the document sentence was not chosen
    quotes = [q for q in select_sentences(ASK, [doc, entry], tokenize) if q.passage_index == 1]
    assert quotes
    both = primary_first(quotes, [doc, entry], ASK, tokenize)
    assert [q.passage_index for q in both][0] == 0 and both[0].text == doc.text
    assert "[1]" in render_extractive(both, [doc, entry]).split("\n")[3]
    # only the section the entry names (or below it) counts as its primary source
    assert primary_first(quotes, [sibling, entry], ASK, tokenize) == quotes
    # a sheet row (not a staff answer) is left as the extractive rules chose
    row = Passage("r1", entry.text, "faq/faq.csv", "よくある質問", "", None, "faq", 0.8, basis=BASIS)
    assert primary_first(quotes, [doc, row], ASK, tokenize) == quotes
