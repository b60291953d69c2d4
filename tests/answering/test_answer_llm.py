"""LLM mode against the local OpenAI-compatible stand-in: citations, fallbacks, streaming,
follow-ups, and the personal-data guard end to end."""

from __future__ import annotations

import re
import time

from bot.answering.extractive import EXTRACTIVE_LABEL
from bot.answering.messages import LLM_FALLBACK_NOTE, NO_CITATION_NOTE
from bot.answering.prompts import PromptSet
from bot.domain import Conversation, HistoryTurn, Inquiry, Requester
from tests.standins.openai_server import Reply

QUESTION = "地域おこし協力隊員の任期後の定住について、道はどんな支援をしていますか？"


def _documents(request) -> list[str]:
    user = request.messages[-1]["content"]
    return re.findall(r"<document index=\"(\d+)\"[^>]*>\n(.*?)\n</document>", user, re.S)


def test_good_cited_answer(llm_settings, make_answerer, openai_server):
    openai_server.script("道は、ほっかいどう協力隊ワンストップ窓口の設置や協力隊専用ポータルサイトの開設などで"
                         "隊員と市町村を支援しています[1]。")
    answerer = make_answerer(llm_settings())
    assert answerer.streaming
    answer = answerer.answer(QUESTION, [])
    assert answer.mode == "llm" and answer.answered
    assert answer.fallback_reason is None
    assert answer.model == "standin-chat"
    assert answer.prompt_version == PromptSet.load().answer_version
    assert answer.text.endswith("[1]。")
    # [1] points at exactly the passage that was given as document 1
    request = openai_server.chat_requests[0]
    docs = _documents(request)
    assert len(docs) == 5
    assert answer.sources[0].text.strip() == docs[0][1].strip()
    assert "協力隊" in answer.sources[0].text
    # Chat Completions API, model and the prompt from the files
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "standin-chat"
    assert request.messages[0]["role"] == "system"
    assert request.messages[0]["content"].strip() == PromptSet.load().answer_system.text.strip()
    assert f"<question>\n{QUESTION}\n</question>" in request.messages[-1]["content"]
    assert answer.evidence > 0.5 and answer.latency_ms >= 0


def test_bogus_citation_is_removed(llm_settings, make_answerer, openai_server):
    openai_server.script("ワンストップ窓口があります[2]。補助率は2分の1です[9]。")
    answer = make_answerer(llm_settings()).answer(QUESTION, [])
    assert answer.mode == "llm"
    assert "[9]" not in answer.text and "[2]" not in answer.text
    assert answer.text.startswith("ワンストップ窓口があります[1]。")
    assert len(answer.sources) == 1
    docs = _documents(openai_server.chat_requests[0])
    assert answer.sources[0].text.strip() == docs[1][1].strip()  # old [2] renumbered to [1]


def test_only_bogus_citations_fall_back_to_extractive(llm_settings, make_answerer, openai_server):
    openai_server.script("補助率は2分の1で、締切は6月末です[9]。")
    answer = make_answerer(llm_settings()).answer(QUESTION, [])
    assert answer.mode == "extractive" and answer.fallback_reason == "no_valid_citation"
    assert "2分の1" not in answer.text
    assert NO_CITATION_NOTE in answer.text and EXTRACTIVE_LABEL in answer.text


def test_no_citation_falls_back_to_extractive(llm_settings, make_answerer, openai_server):
    openai_server.script("道は色々な支援をしています。詳しくはお問い合わせください。")
    answer = make_answerer(llm_settings()).answer(QUESTION, [])
    assert answer.mode == "extractive" and answer.answered
    assert answer.fallback_reason == "no_valid_citation"
    assert re.search(r"\[1\]", answer.text) and answer.sources


def test_timeout_falls_back_quickly(llm_settings, make_answerer, openai_server):
    openai_server.script(Reply("遅すぎる回答 [1]", delay=4.0))
    answerer = make_answerer(llm_settings(CONSULT_LLM_TIMEOUT="0.6"))
    start = time.monotonic()
    answer = answerer.answer(QUESTION, [])
    assert time.monotonic() - start < 3.5
    assert answer.mode == "extractive" and answer.fallback_reason == "llm_timeout"
    assert LLM_FALLBACK_NOTE in answer.text and "遅すぎる" not in answer.text
    assert answer.sources and "[1]" in answer.text


def test_server_error_falls_back(llm_settings, make_answerer, openai_server):
    openai_server.script(Reply(status=500), Reply(status=429))
    answerer = make_answerer(llm_settings())
    for _ in range(2):
        answer = answerer.answer(QUESTION, [])
        assert answer.mode == "extractive" and answer.fallback_reason == "llm_error"
        assert answer.answered and answer.sources
    assert len(openai_server.chat_requests) == 2  # CONSULT_LLM_MAX_RETRIES=0


def test_retries_from_settings(llm_settings, make_answerer, openai_server):
    openai_server.script(Reply(status=500), "ワンストップ窓口があります[1]。")
    answer = make_answerer(llm_settings(CONSULT_LLM_MAX_RETRIES="1")).answer(QUESTION, [])
    assert answer.mode == "llm"
    assert len(openai_server.chat_requests) == 2


def test_streaming_tokens(llm_settings, make_answerer, openai_server):
    reply = "道は協力隊専用ポータルサイトを開設しています[1]。また窓口も設置しています[1][3]。"
    openai_server.script(Reply(reply, chunk_size=5))
    tokens: list[str] = []
    answer = make_answerer(llm_settings()).answer(QUESTION, [], on_token=tokens.append)
    assert len(tokens) > 3 and "".join(tokens) == reply
    assert openai_server.chat_requests[0].body["stream"] is True
    assert answer.mode == "llm"
    assert answer.text == "道は協力隊専用ポータルサイトを開設しています[1]。また窓口も設置しています[1][2]。"
    assert len(answer.sources) == 2


def test_follow_up_is_condensed_by_the_llm(llm_settings, make_answerer, openai_server):
    condensed = "ふるさと納税の活用に向けた道の支援にはどのようなものがありますか？"
    openai_server.script(condensed, "研修会や相談会を開催しています[1]。")
    history = [HistoryTurn(question="地域づくり総合交付金について教えてください。",
                           answer="市町村等の主体的な取組を支援する交付金です[1]。")]
    answer = make_answerer(llm_settings()).answer("ふるさと納税のほうはどうですか？", history)
    assert answer.standalone_question == condensed
    first, second = openai_server.chat_requests
    assert "地域づくり総合交付金について教えてください。" in first.messages[-1]["content"]
    assert "<history>" in first.messages[-1]["content"]
    assert f"<question>\n{condensed}\n</question>" in second.messages[-1]["content"]
    assert any("ふるさと納税" in p.text for p in answer.sources)


def test_weak_evidence_declines_without_calling_the_llm(llm_settings, make_answerer, openai_server):
    answer = make_answerer(llm_settings()).answer("明日の札幌の天気はどうですか？", [])
    assert not answer.answered and answer.mode == "none"
    assert "担当職員にお伝えしました" in answer.text and answer.sources == []
    assert openai_server.chat_requests == []


def test_personal_data_is_masked_before_reaching_the_llm(llm_settings, openai_server):
    from bot.pii import PLACEHOLDERS
    from bot.services import build_services

    openai_server.script("DXアドバイザーを派遣しています[1]。")
    services = build_services(llm_settings())
    result = services.consultation.consult(Inquiry(
        question="DXのアドバイザー派遣について、担当の090-1234-5678かtaro@example.jpに連絡をください。"
                 "私のマイナンバーは123456789018です。",
        conversation=Conversation(kind="cli", thread_ts="pii-test"),
        requester=Requester(user_id="cli:tester")))
    assert result.pii_kinds == ["my_number", "phone", "email"]
    sent = openai_server.chat_requests[0].messages[-1]["content"]
    for leaked in ("090-1234-5678", "taro@example.jp", "123456789018"):
        assert leaked not in sent
    for kind in ("my_number", "phone", "email"):
        assert PLACEHOLDERS[kind] in sent
    assert result.answer.mode == "llm" and result.case_id is not None


def test_azure_settings_use_the_deployment(indexed_settings, make_answerer, openai_server):
    openai_server.script("協力隊専用ポータルサイトを開設しています[1]。")
    settings = indexed_settings(AZURE_OPENAI_ENDPOINT=openai_server.root_url,
                                AZURE_OPENAI_API_KEY="azure-test-key",
                                AZURE_OPENAI_DEPLOYMENT="consult-dep", CONSULT_LLM_MAX_RETRIES="0")
    answer = make_answerer(settings).answer(QUESTION, [])
    assert answer.mode == "llm" and answer.model == "azure:consult-dep"
    request = openai_server.chat_requests[0]
    assert request.path == "/openai/deployments/consult-dep/chat/completions"
    assert request.headers["api-key"] == "azure-test-key"


def test_a_standalone_question_is_not_condensed(llm_settings, make_answerer, openai_server):
    """After a question about DX, a new topic with its own words goes to retrieval unchanged:
    no condense request reaches the model, only the answer request."""
    openai_server.script("ふるさと納税の研修会や相談会を開催しています[1]。")
    history = [HistoryTurn(question="役場にDXに詳しい職員がいないのですが、道から支援はありますか？",
                           answer="アドバイザーを派遣しています[1]。")]
    question = "話は変わりますが、ふるさと納税の研修会はありますか？"
    answer = make_answerer(llm_settings()).answer(question, history)
    assert answer.standalone_question is None and answer.mode == "llm"
    [request] = openai_server.chat_requests
    assert "<history>" not in request.messages[-1]["content"]
    assert f"<question>\n{question}\n</question>" in request.messages[-1]["content"]
    assert "ふるさと納税" in answer.sources[0].section


def test_out_of_scope_after_a_topic_is_declined_without_the_model(llm_settings, make_answerer,
                                                                   openai_server):
    history = [HistoryTurn(question="役場にDXに詳しい職員がいないのですが、道から支援はありますか？",
                           answer="アドバイザーを派遣しています[1]。")]
    answer = make_answerer(llm_settings()).answer("明日の札幌の天気を教えてください", history)
    assert not answer.answered and openai_server.chat_requests == []


def test_condensing_failure_falls_back_to_the_conversation_rule(llm_settings, make_answerer,
                                                                 openai_server):
    history = [HistoryTurn(question="地域おこし協力隊の任期後の定住に向けて、道の支援はありますか？",
                           answer="ワンストップ窓口を設置しています[1]。")]
    openai_server.script(Reply(status=500, error="boom"), "隊員本人も相談できます[1]。")
    question = "その窓口は隊員本人も使えますか？"
    answer = make_answerer(llm_settings()).answer(question, history)
    # the referent turn's question, then the follow-up: what the extractive mode retrieves with
    assert answer.standalone_question == f"{history[0].question}\n{question}"
    assert answer.answered and any("協力隊" in p.section for p in answer.sources)
    assert len(openai_server.chat_requests) == 2          # the failed condense, then the answer
