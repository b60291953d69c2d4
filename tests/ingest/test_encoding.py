"""Encodings Japanese local governments publish text in, short files included: the decoding that
reads as Japanese wins (not the first codec that raises no error); mojibake is reported."""

from __future__ import annotations

import pytest

from ingest.errors import LoadError
from ingest.loaders import load_file
from ingest.loaders.encoding import decode_bytes, detect, iter_lines, plausibility
from ingest.pipeline import run_ingest

from .conftest import write

SHORT = ["振興局", "市町村", "協力隊の定住", "除雪の補助率は２分の１です。", "ふるさと納税",
         "地域づくり総合交付金の申請について", "第1条 目的\r\nこの要綱は、補助金を交付する。"]


@pytest.mark.parametrize("encoding", ["euc_jp", "cp932", "shift_jis", "utf-8", "utf-8-sig",
                                      "utf-16", "utf-16-le", "utf-16-be", "iso2022_jp"])
def test_short_japanese_in_every_encoding(encoding):
    for text in SHORT:
        data = text.encode(encoding)
        assert decode_bytes(data) == text, (encoding, text, detect(data))


def test_short_euc_jp_is_not_read_as_halfwidth_katakana():
    """The issue's case: 「振興局」 in EUC-JP is valid CP932 (「ｿｶｶｽｶﾉ」), but not plausible Japanese."""
    data = "振興局".encode("euc_jp")
    assert data.decode("cp932") == "ｿｶｶｽｶﾉ"
    assert detect(data) == ("euc_jp", 0)
    assert plausibility("ｿｶｶｽｶﾉ") < 0 < plausibility("振興局")


def test_genuine_halfwidth_katakana_still_reads():
    for encoding in ("cp932", "utf-8"):
        assert decode_bytes("ﾌﾘｶﾞﾅ 山田太郎".encode(encoding)) == "ﾌﾘｶﾞﾅ 山田太郎"


def test_mojibake_is_refused():
    with pytest.raises(LoadError, match="文字化け"):
        decode_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(LoadError, match="文字化け"):
        decode_bytes("Café crème brûlée à la façon".encode("latin-1"))


def test_streamed_lines_match_whole_decoding(tmp_path):
    """Blocks cut anywhere (inside a multi-byte character, between CR and LF) change nothing."""
    text = "".join(f"{i} 振興局の地域政策課に申請してください。\r\n" for i in range(400))
    for encoding in ("cp932", "euc_jp", "utf-16", "utf-8-sig"):
        path = tmp_path / f"t-{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        lines = list(iter_lines(path, block_bytes=7))
        assert lines == text.replace("\r\n", "\n").split("\n")[:-1], encoding


@pytest.mark.parametrize("encoding", ["euc_jp", "cp932", "utf-16-le", "utf-8-sig"])
def test_loaders_read_short_files(tmp_path, encoding):
    path = write(tmp_path / "memo.txt", "振興局\n除雪の相談窓口です。\n", encoding=encoding)
    doc = load_file(path)
    assert doc.title == "振興局" and doc.lines[0].text.startswith("除雪")
    csv_path = write(tmp_path / "faq.csv", "質問,回答\n窓口は？,振興局です。\n", encoding=encoding)
    record = load_file(csv_path).records[0]
    assert (record.question, record.answer) == ("窓口は？", "振興局です。")
    html = write(tmp_path / "page.html", "<html><body><h2>振興局</h2><p>窓口です。</p></body></html>",
                 encoding=encoding)
    assert "振興局" in [line.text for line in load_file(html).lines]


def test_mojibake_file_is_reported_not_indexed(index_settings, kb, counting):
    write(kb / "rules" / "garbled.txt", "振興局".encode("euc_jp").decode("cp932"), encoding="utf-8")
    (kb / "rules" / "broken.txt").write_bytes(bytes(range(128, 256)) * 16)
    report = run_ingest(index_settings(), embeddings=counting)
    failed = {f["path"]: f["error"] for f in report.failed}
    assert "rules/broken.txt" in failed and "文字化け" in failed["rules/broken.txt"]
    assert report.exit_code == 2
    assert not any("broken" in t for t in counting.texts)
