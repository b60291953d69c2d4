"""The OpenAI-compatible stand-in, exercised with the real `openai` client over HTTP."""

from __future__ import annotations

import time

import numpy as np
import openai
import pytest
from openai import OpenAI

from tests.standins.openai_server import OpenAIStandIn, Reply, hash_embedding


@pytest.fixture
def server():
    with OpenAIStandIn() as srv:
        yield srv


def _client(server, **kw) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="sk-test", **kw)


def test_chat_completion_scripted_queue_and_recording(server):
    server.script("一つ目の回答 [1]", "二つ目")
    client = _client(server)
    first = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "質問A"}])
    second = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "質問B"}])
    assert first.choices[0].message.content == "一つ目の回答 [1]"
    assert second.choices[0].message.content == "二つ目"
    assert first.model == "m1" and first.usage.total_tokens > 0
    assert [r.messages[0]["content"] for r in server.chat_requests] == ["質問A", "質問B"]
    assert server.chat_requests[0].headers["authorization"] == "Bearer sk-test"


def test_responder_function_sees_the_request(server):
    server.responder = lambda body: "echo:" + body["messages"][-1]["content"]
    reply = _client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "こんにちは"}])
    assert reply.choices[0].message.content == "echo:こんにちは"


def test_streaming_uses_exact_chunk_format(server):
    server.script(Reply("地域おこし協力隊の支援です [1]。", chunk_size=3))
    stream = _client(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "q"}], stream=True,
        stream_options={"include_usage": True})
    deltas, finishes, usage = [], [], None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert "".join(deltas) == "地域おこし協力隊の支援です [1]。"
    assert len(deltas) > 3
    assert finishes == ["stop"]
    assert usage is not None and usage.completion_tokens == len("地域おこし協力隊の支援です [1]。")


def test_raw_sse_ends_with_done(server):
    import httpx

    server.script("abc")
    with httpx.stream("POST", server.base_url + "/chat/completions",
                      json={"model": "m", "messages": [], "stream": True}) as resp:
        body = resp.read().decode()
    events = [e for e in body.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"


def test_failures_500_and_429(server):
    server.script(Reply(status=500), Reply(status=429, headers={"Retry-After": "0"}))
    client = _client(server, max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])


def test_client_retries_then_succeeds(server):
    server.script(Reply(status=500), "成功")
    reply = _client(server, max_retries=1).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "q"}])
    assert reply.choices[0].message.content == "成功"
    assert len(server.chat_requests) == 2


def test_slow_reply_times_out(server):
    server.script(Reply("遅い", delay=1.5))
    client = _client(server, max_retries=0, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    assert time.monotonic() - start < 1.4


def test_embeddings_are_deterministic_unit_vectors(server):
    client = _client(server)
    out = client.embeddings.create(model="e", input=["北海道", "札幌", "北海道"])
    vecs = [np.array(d.embedding) for d in out.data]
    assert len(vecs[0]) == 384
    assert np.allclose(vecs[0], vecs[2]) and not np.allclose(vecs[0], vecs[1])
    assert abs(np.linalg.norm(vecs[1]) - 1.0) < 1e-6
    assert np.allclose(vecs[0], hash_embedding("北海道"))


def test_models_list(server):
    models = _client(server).models.list()
    assert [m.id for m in models] == ["standin-model"]
