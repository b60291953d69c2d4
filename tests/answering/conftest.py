"""Fixtures of the answering tests: the OpenAI-compatible stand-in (real HTTP on 127.0.0.1) and
settings pointing at it over a copy of the bundled index."""

from __future__ import annotations

import pytest

from tests.standins.openai_server import OpenAIStandIn


@pytest.fixture
def openai_server():
    with OpenAIStandIn(model="standin-chat") as server:
        yield server


@pytest.fixture
def llm_settings(indexed_settings, openai_server):
    """factory(**ENV) -> Settings in LLM mode against the stand-in, over the bundled index."""

    def factory(**overrides):
        values = {"OPENAI_BASE_URL": openai_server.base_url, "OPENAI_API_KEY": "sk-test-standin",
                  "CONSULT_LLM_MODEL": "standin-chat", "CONSULT_LLM_TIMEOUT": "5",
                  "CONSULT_LLM_MAX_RETRIES": "0"}
        values.update(overrides)
        return indexed_settings(**values)

    return factory


@pytest.fixture
def make_answerer():
    from bot.answering.answerer import Answerer
    from bot.answering.retriever import HybridRetriever

    def factory(settings):
        retriever = HybridRetriever.from_settings(settings)
        return Answerer.from_settings(settings, retriever)

    return factory
