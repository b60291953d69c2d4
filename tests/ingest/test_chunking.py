from pathlib import Path

import pytest

from ingest.chunking import chunk_lines, pack_sentences, split_sentences
from ingest.chunks import document_chunks
from ingest.documents import TextLine
from ingest.loaders import load_file
from ingest.structure import split_sections

from .conftest import BUNDLED_KB, STRATEGY_TEXT


def _bundled_strategy_files() -> list[Path]:
    files = sorted((BUNDLED_KB / "strategy").glob("*.md"))
    if not files:
        pytest.skip("bundled knowledge_base/strategy/*.md is not there yet")
    return files


def test_heading_paths_on_bundled_strategy_excerpt():
    chunks = []
    for path in _bundled_strategy_files():
        chunks += document_chunks(load_file(path), path.relative_to(BUNDLED_KB).as_posix())
    sections = {c.metadata["section"] for c in chunks}
    assert "VI 市町村戦略支援 > 3 人的支援 > (3) 地域おこし協力隊へのサポート" in sections
    assert "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金" in sections
    assert "VI 市町村戦略支援 > 2 情報支援 > (3) 特定地域づくり事業協同組合制度の周知、認定" in sections
    # the marker heading "■ 取組の構成" is a sibling of "1 財政的支援", never its parent
    assert not any("取組の構成 > 1" in s for s in sections)
    target = next(c for c in chunks if c.metadata["section"].endswith("(3) 地域おこし協力隊へのサポート"))
    first_line, body = target.page_content.split("\n", 1)
    assert first_line == target.metadata["heading"] == f"{target.metadata['title']} > {target.metadata['section']}"
    assert "協力隊" in body
    assert target.metadata["doc_type"] == "strategy"
    assert target.metadata["source"].startswith("strategy/")
    assert "**" not in target.page_content  # markdown syntax is not content


def test_plain_text_numbering_without_markdown():
    lines = [TextLine(x) for x in STRATEGY_TEXT.splitlines()]
    paths = [" > ".join(s.path) for s in split_sections(lines)]
    assert paths == [
        "VI 市町村戦略支援",
        "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金",
        "VI 市町村戦略支援 > 3 人的支援 > (3) 地域おこし協力隊へのサポート",
    ]


@pytest.mark.parametrize(
    "heading, expected_path",
    [
        ("第1章 総則", ["第1章 総則"]),
        ("第２章　補助金", ["第２章 補助金"]),
        ("（１）対象者", ["第２章 補助金", "（１）対象者"]),
        ("① 申請書", ["第２章 補助金", "（１）対象者", "① 申請書"]),
        ("【注意事項】", ["第２章 補助金", "（１）対象者", "① 申請書", "【注意事項】"]),
    ],
)
def test_japanese_numbering_styles(heading, expected_path):
    text = ["第1章 総則", "本文。", "第２章　補助金", "本文。", "（１）対象者", "本文。", "① 申請書", "本文。",
            "【注意事項】", "本文。"]
    lines = [TextLine(x) for x in text]
    sections = split_sections(lines)
    found = [s.path for s in sections if s.path[-1] == expected_path[-1]]
    assert found == [expected_path], [s.path for s in sections]


def test_sentences_and_dates_are_not_headings():
    lines = [TextLine(x) for x in ["1 財政的支援", "2024年4月1日から受付を開始します。", "3 人的支援です。"]]
    sections = split_sections(lines)
    assert [s.path for s in sections] == [["1 財政的支援"]]
    assert [line.text for line in sections[0].lines] == ["2024年4月1日から受付を開始します。", "3 人的支援です。"]


def test_sentence_split_keeps_closing_brackets():
    assert split_sentences("「創る」を発行する。次に進む！本当？\n改行") == ["「創る」を発行する。", "次に進む！", "本当？", "改行"]


def test_packing_never_cuts_inside_a_sentence_and_overlaps():
    sentences = [(f"これは{i}番目の文で、内容を説明しています。", 0) for i in range(40)]
    chunks = pack_sentences(sentences, chunk_size=200, overlap=60)
    assert len(chunks) > 3
    originals = {s for s, _ in sentences}
    for body, _ in chunks:
        assert len(body) <= 200
        for piece in body.split("\n"):
            assert piece in originals
    # consecutive chunks share whole trailing sentences (a small overlap, at most 60 chars)
    for (a, _), (b, _) in zip(chunks, chunks[1:]):
        a_lines, b_lines = a.split("\n"), b.split("\n")
        shared = next(k for k in range(len(b_lines), 0, -1) if a_lines[-k:] == b_lines[:k])
        assert 1 <= shared and len("\n".join(b_lines[:shared])) <= 60


def test_a_sentence_longer_than_the_limit_is_cut():
    long = "あ" * 950 + "。"
    chunks = pack_sentences([(long, 3)], chunk_size=400, overlap=50)
    assert [len(b) for b, _ in chunks] == [400, 400, 151]
    assert all(page == 3 for _, page in chunks)


def test_chunk_lines_keeps_pages():
    lines = [TextLine("1 概要", page=1), TextLine("一頁目の文。", page=1), TextLine("二頁目の文。", page=2)]
    chunks = chunk_lines(lines, chunk_size=8, overlap=0)
    assert [(c.section, c.body, c.page) for c in chunks] == [("1 概要", "一頁目の文。", 1), ("1 概要", "二頁目の文。", 2)]
