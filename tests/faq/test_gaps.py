"""The knowledge-gap report on a small fixed set: declined, 👎 and 「職員に相談する」 questions grouped
into topics (scikit-learn clustering of e5 embeddings), largest first, with a Sudachi key-term
label, municipalities, the nearest section of the index (or none), FAQ coverage after an approval,
and `consult report gaps --json`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from bot.answering.retriever import HybridRetriever
from bot.cases.policy import DefaultStaffPolicy
from bot.cases.store import CaseStore
from bot.cli import app as cli_app
from bot.domain import Answer, Conversation, Passage, Requester
from bot.faq.gaps import GapReporter, collect, key_terms
from tests.faq.conftest import faq_service
from bot.faq.similar import SimilarCases
from bot.faq.sync import FaqIndexSync

OPERATOR = "cli:operator"
SNOW = ["除雪ボランティアの傷害保険料は補助の対象になりますか？",
        "除雪ボランティアに入ってもらう保険の費用を交付金で払えますか？",
        "冬の除雪ボランティアの保険料を町が負担するときの財源はありますか？"]
EV = ["公用車を電気自動車に更新する補助はありますか？",
      "庁用車をEVに替えるときの補助金を教えてください。"]
TAX = ["ふるさと納税の返礼品の調達費の上限は何割ですか？"]      # covered by the knowledge base area


def _turn(store, n, question, municipality, *, answered=False, feedback=None, request=False):
    conv = Conversation("slack", "T1", "C0OFFICE", f"1700000000.{n:06d}")
    answer = Answer(text="回答 [1]" if answered else "見つかりませんでした。", answered=answered,
                    mode="extractive" if answered else "none",
                    sources=[Passage("c", "t", "s.md", "資料", "節", None, "strategy", 1.0)] if answered else [])
    case, turn_id = store.add_turn(conv, Requester(f"W{n}", None, municipality), question, answer)
    if feedback:
        store.record_feedback(turn_id, user_id=f"W{n}", value=feedback)
    if request:
        store.escalate(case.id, actor=f"W{n}")
    return case


@pytest.fixture
def seeded(indexed_settings):
    settings = indexed_settings(CONSULT_LOCAL_OPERATOR=OPERATOR)
    store = CaseStore.from_settings(settings)
    _turn(store, 1, SNOW[0], "上川町")                           # declined
    _turn(store, 2, SNOW[1], "名寄市", answered=True, feedback="down")   # 👎
    _turn(store, 3, SNOW[2], "上川町", answered=True, request=True)      # 「職員に相談する」
    _turn(store, 4, EV[0], "士別市")
    _turn(store, 5, EV[1], None, answered=True, request=True)
    _turn(store, 6, TAX[0], "美瑛町")
    _turn(store, 7, "協力隊の定住支援は？", "美瑛町", answered=True)      # answered, no complaint: not a gap
    yield settings, store
    store.close()


def test_topics_largest_first_with_labels_places_and_nearest_sections(seeded):
    settings, store = seeded
    questions = collect(store, None)
    assert sorted(q.question for q in questions) == sorted(SNOW + EV + TAX)
    assert {q.reason for q in questions} == {"declined", "negative_feedback", "requested"}
    retriever = HybridRetriever.from_settings(settings)
    reporter = GapReporter(store, SimilarCases.from_settings(settings, store), retriever)
    report = reporter.report(None)
    assert [t.count for t in report.topics] == [3, 2, 1]
    snow, ev, tax = report.topics
    assert set(snow.questions) == set(SNOW) and set(ev.questions) == set(EV)
    print([(t.label, t.nearest_section, t.nearest_similarity) for t in report.topics])
    assert "除雪" in snow.label and "ボランティア" in snow.label
    assert "公用車" in ev.label
    assert snow.municipalities == ("上川町", "名寄市") and ev.municipalities == ("士別市",)
    assert tax.nearest_section is not None and "ふるさと納税" in tax.nearest_section
    assert snow.nearest_section is None                     # the knowledge base has nothing near
    assert not any(t.covered_by_faq for t in report.topics)
    as_json = report.to_json()
    assert as_json["since"] is None
    assert list(as_json["topics"][0]) == ["label", "count", "questions", "municipalities",
                                          "nearest_section", "covered_by_faq"]

    # a newer --since leaves the older questions out
    later = reporter.report(datetime.now(timezone.utc) + timedelta(hours=1))
    assert later.topics == () and later.questions == 0

    # an approved entry now covers the snow topic
    faq = faq_service(store, DefaultStaffPolicy(local_operator=OPERATOR))
    entry = faq.create(OPERATOR, question="除雪ボランティアの傷害保険料は補助の対象ですか？",
                       answer="社会福祉協議会のボランティア活動保険の保険料は、地域づくり総合交付金の対象です。",
                       approve=True).entry
    FaqIndexSync(settings, store).sync_once()
    covered = reporter.report(None)
    snow_after = next(t for t in covered.topics if set(t.questions) == set(SNOW))
    assert snow_after.covered_by_faq and snow_after.faq_entry_id == entry.id
    assert not next(t for t in covered.topics if set(t.questions) == set(EV)).covered_by_faq


def test_key_terms_are_the_characteristic_words_of_each_topic():
    terms = key_terms([["除雪ボランティアの保険料は？", "除雪ボランティアの保険は？"],
                       ["公用車を電気自動車にする補助は？", "公用車のEV化の補助は？"]])
    assert set(terms[0][:2]) == {"除雪", "ボランティア"}      # written forms, not folded kana
    assert terms[1][0] == "公用車"
    assert "補助" not in terms[0]                       # shared by both topics: not characteristic


def test_report_gaps_cli_json(seeded, monkeypatch, tmp_path):
    settings, store = seeded
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSULT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONSULT_KNOWLEDGE_DIR", str(settings.knowledge_dir))
    result = CliRunner().invoke(cli_app, ["report", "gaps", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    today = datetime.now(timezone(timedelta(hours=9))).date()
    assert data["since"] == (today - timedelta(days=90)).isoformat()
    assert [t["count"] for t in data["topics"]] == [3, 2, 1]
    text = CliRunner().invoke(cli_app, ["report", "gaps", "--since", "2020-01-01"])
    assert text.exit_code == 0 and "1. " in text.output and "（3 件）" in text.output
    assert "近い資料: なし" in text.output and "承認済み FAQ での回答: なし" in text.output
    bad = CliRunner().invoke(cli_app, ["report", "gaps", "--since", "yesterday"])
    assert bad.exit_code == 2 and "日付「yesterday」を読み取れません" in bad.output
