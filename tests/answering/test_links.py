"""The link rule (bot/answering/links.py): only addresses the cited passages contain are links;
every other one — Markdown, Slack syntax, bare URL, www., bare domain, e-mail — is plain text."""

from __future__ import annotations

import re

import pytest

from bot.answering import links
from bot.domain import Answer, Passage
from bot.slack import blocks

PASSAGE = Passage("c1", "詳しくは https://www.pref.hokkaido.lg.jp/ss/csr/index.html をご覧ください。"
                  "問合せ先 chiiki@pref.hokkaido.lg.jp", "faq/faq.csv", "よくある質問", "", None,
                  "faq", 1.0)


def answer(text: str, sources=(PASSAGE,)) -> Answer:
    return Answer(text=text, answered=True, mode="llm", sources=list(sources))


@pytest.mark.parametrize("text, shown", [
    ("[公式サイト](https://evil.example/login) から申請 [1]", "公式サイト（hxxps://evil[.]example/login）"),
    ("<https://evil.example/x|こちら>", "こちら（hxxps://evil[.]example/x）"),
    ("&lt;https://evil.example/x|こちら&gt;", "こちら（hxxps://evil[.]example/x）"),
    ("https://evil.example/y をご覧ください", "hxxps://evil[.]example/y"),
    ("www.evil.example で", "www[.]evil[.]example"),
    ("evil.com/login へ", "evil[.]com/login"),
    ("連絡は a@evil.jp まで", "a[at]evil[.]jp"),
    ("[x](javascript:alert(1))", "x（javascript:alert(1)）"),
])
def test_links_the_passages_do_not_contain_become_plain_text(text, shown):
    segments = links.answer_segments(answer(text))
    assert any(isinstance(s, links.Link) and not s.allowed for s in segments)
    plain = links.plain_text(segments)
    assert shown in plain
    mrkdwn = blocks.answer_mrkdwn(answer(text))
    assert "<" not in mrkdwn and "evil.example" not in mrkdwn and "evil.com" not in mrkdwn


def test_links_the_passages_contain_stay_links():
    text = ("詳細は[こちら](https://www.pref.hokkaido.lg.jp/ss/csr/index.html)、または "
            "https://www.pref.hokkaido.lg.jp/ss/csr/index.html。問合せ chiiki@pref.hokkaido.lg.jp [1]")
    segments = links.answer_segments(answer(text))
    assert [s.allowed for s in segments if isinstance(s, links.Link)] == [True, True, True]
    mrkdwn = blocks.answer_mrkdwn(answer(text))
    assert "<https://www.pref.hokkaido.lg.jp/ss/csr/index.html|こちら>" in mrkdwn
    assert "<mailto:chiiki@pref.hokkaido.lg.jp|chiiki@pref.hokkaido.lg.jp>" in mrkdwn
    assert mrkdwn.endswith("。問合せ <mailto:chiiki@pref.hokkaido.lg.jp|chiiki@pref.hokkaido.lg.jp> [1]")


def test_a_link_in_an_uncited_passage_is_not_allowed():
    other = Passage("c2", "https://example.org/ok", "x", "x", "", None, "other", 0.5)
    assert links.answer_segments(answer("https://example.org/ok", sources=[PASSAGE]))[0].allowed \
        is False
    assert links.answer_segments(answer("https://example.org/ok", sources=[other]))[0].allowed


def test_ordinary_japanese_text_is_untouched():
    text = "上限は1.5億円（R6.4時点）です。faq.csv の 3. を参照 [1]"
    assert links.answer_segments(answer(text)) == [links.Text(text)]
    assert blocks.answer_mrkdwn(answer(text)) == blocks.escape(text)


def test_trailing_punctuation_is_not_part_of_the_address():
    segs = links.answer_segments(answer("詳細は https://www.pref.hokkaido.lg.jp/ss/csr/index.html."))
    assert segs[1] == links.Link("https://www.pref.hokkaido.lg.jp/ss/csr/index.html", None, True)
    assert segs[2] == links.Text(".")


def test_streamed_drafts_cannot_form_any_link_across_tokens():
    tokens = ["[公式", "](htt", "ps:/", "/evil.", "example/x) www", ".evil.example a@", "b.jp"]
    draft = "".join(links.draft_text(t) for t in tokens)
    assert not re.search(r"\]\(|https?://|www\.\w|@\w", draft)
    assert draft.replace("\u200b", "") == "".join(tokens)


def test_recorded_answers_use_the_stored_passage_texts():
    stored = [{"text": "https://www.pref.hokkaido.lg.jp/a"}]
    segs = links.recorded_segments("https://www.pref.hokkaido.lg.jp/a と https://evil.example", stored)
    assert [s.allowed for s in segs if isinstance(s, links.Link)] == [True, False]


def test_the_terminal_shows_the_same_rule():
    from bot.cli.ask_cmd import render_text

    shown = render_text(answer("申請は[公式サイト](https://evil.example/login)から [1]"))
    assert "公式サイト（hxxps://evil[.]example/login）" in shown and "https://evil" not in shown
    assert "出典:" in shown
