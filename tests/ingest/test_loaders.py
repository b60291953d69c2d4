"""Each loader on a small file generated here, in the formats local governments publish."""

from __future__ import annotations

import pytest

from ingest.chunks import document_chunks
from ingest.errors import LoadError, UnsupportedFile
from ingest.loaders import load_file

from .conftest import write


def _pdf(path, pages: list[list[str]]):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path))
    c.setTitle("除雪支援の手引き")
    for lines in pages:
        c.setFont("HeiseiKakuGo-W5", 11)
        y = 800
        for line in lines:
            c.drawString(50, y, line)
            y -= 18
        c.showPage()
    c.save()
    return path


def test_pdf_japanese_text_pages_and_rejoined_lines(tmp_path):
    path = _pdf(tmp_path / "guide.pdf", [
        ["1 制度の概要", "高齢者世帯の除雪を支援する市町村に対し、予算の範囲内で補助", "金を交付する。"],
        ["2 申請方法", "申請書は振興局の地域政策課に提出してください。"],
    ])
    doc = load_file(path)
    chunks = document_chunks(doc, "rules/guide.pdf")
    assert doc.title == "除雪支援の手引き"
    by_section = {c.metadata["section"]: c for c in chunks}
    overview = by_section["1 制度の概要"]
    # the line broken between 補助 / 金 is one sentence again
    assert "予算の範囲内で補助金を交付する。" in overview.page_content
    assert overview.metadata["page"] == 1
    assert by_section["2 申請方法"].metadata["page"] == 2
    assert overview.metadata["doc_type"] == "rules"


def test_scanned_pdf_without_text_layer_is_a_reported_failure(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.rect(50, 50, 400, 600, fill=1)  # an "image" of a page, no text
    c.showPage()
    c.save()
    with pytest.raises(LoadError, match="テキスト層がありません"):
        load_file(path)


def test_corrupt_pdf_is_a_load_error(tmp_path):
    path = write(tmp_path / "broken.pdf", "%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(LoadError):
        load_file(path)


def test_docx_heading_styles_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.core_properties.title = "地域おこし協力隊 受入れの手引き"
    document.add_heading("第1章 募集", level=1)
    document.add_paragraph("協力隊員の募集は市町村が行います。")
    document.add_heading("1 募集の時期", level=2)
    document.add_paragraph("募集は通年で行うことができます。")
    table = document.add_table(rows=3, cols=2)
    for row, (a, b) in zip(table.rows, [("区分", "上限額"), ("報償費", "年480万円"), ("活動経費", "年200万円")]):
        row.cells[0].text, row.cells[1].text = a, b
    path = tmp_path / "guide.docx"
    document.save(str(path))

    chunks = document_chunks(load_file(path), "guide.docx")
    sections = {c.metadata["section"]: c.page_content for c in chunks}
    assert set(sections) == {"第1章 募集", "第1章 募集 > 1 募集の時期"}
    text = sections["第1章 募集 > 1 募集の時期"]
    assert text.startswith("地域おこし協力隊 受入れの手引き > 第1章 募集 > 1 募集の時期\n")
    assert "区分: 報償費、上限額: 年480万円" in text
    assert "区分: 活動経費、上限額: 年200万円" in text


def test_shift_jis_faq_csv_with_other_columns_as_metadata(tmp_path):
    csv_text = "分類,問,答,担当課,更新日\r\n生活,ゴミの分別は？,環境政策課にご相談ください。,環境政策課,2025-04-01\r\n人的支援,協力隊の相談窓口は？,ワンストップ窓口があります。,地域政策課,2025-05-01\r\n"
    path = write(tmp_path / "faq" / "よくある質問.csv", csv_text, encoding="cp932")
    chunks = document_chunks(load_file(path), "faq/よくある質問.csv")
    assert len(chunks) == 2
    first = chunks[0]
    assert first.page_content.endswith("\nQ: ゴミの分別は？\nA: 環境政策課にご相談ください。")
    assert first.metadata["担当課"] == "環境政策課"
    assert first.metadata["更新日"] == "2025-04-01"
    assert first.metadata["section"] == "生活"
    assert first.metadata["doc_type"] == "faq"
    assert first.metadata["row"] == 2


def test_utf8_bom_csv_with_english_headers(tmp_path):
    path = write(tmp_path / "qa.csv", "\ufeffNo,Question,Answer\n1,What is DX?,デジタル化です。\n", encoding="utf-8")
    chunks = document_chunks(load_file(path), "qa.csv")
    assert [c.page_content.split("\n", 1)[1] for c in chunks] == ["Q: What is DX?\nA: デジタル化です。"]
    assert chunks[0].metadata["No"] == "1"


def test_xlsx_faq(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "人的支援"
    ws.append(["地域おこし協力隊 FAQ"])  # a caption row above the header
    ws.append(["No", "質問", "回答", "担当課"])
    ws.append([1, "任期後の定住支援は？", "ワンストップ窓口で相談できます。", "地域政策課"])
    ws.append([2, "募集の時期は？", "通年で募集できます。", None])
    path = tmp_path / "faq.xlsx"
    wb.save(str(path))
    chunks = document_chunks(load_file(path), "faq/faq.xlsx")
    assert [c.page_content.split("\n", 1)[1] for c in chunks] == [
        "Q: 任期後の定住支援は？\nA: ワンストップ窓口で相談できます。",
        "Q: 募集の時期は？\nA: 通年で募集できます。",
    ]
    assert chunks[0].metadata["担当課"] == "地域政策課"
    assert chunks[0].metadata["No"] == "1"
    assert "担当課" not in chunks[1].metadata


def test_html_main_text_only_with_heading_structure(tmp_path):
    html = """<!doctype html><html><head><meta charset="shift_jis"><title>ふるさと納税の活用</title>
    <script>var tracking = "ignore me";</script><style>.x{color:red}</style></head>
    <body><header>北海道庁ホームページ ログイン</header>
    <nav><ul><li>トップ</li><li>サイトマップ</li></ul></nav>
    <main><h1>ふるさと納税の活用</h1>
    <h2>研修会の開催</h2><p>道は市町村向けに研修会を開催しています。</p>
    <h3>対象</h3><p>市町村の担当職員が対象です。<br>参加費は無料です。</p>
    </main><footer>Copyright 北海道</footer></body></html>"""
    path = write(tmp_path / "furusato.html", html, encoding="cp932")
    doc = load_file(path)
    chunks = document_chunks(doc, "furusato.html")
    text = "\n".join(c.page_content for c in chunks)
    assert doc.title == "ふるさと納税の活用"
    for noise in ("tracking", "color", "ログイン", "サイトマップ", "Copyright"):
        assert noise not in text
    sections = {c.metadata["section"]: c.page_content for c in chunks}
    assert "研修会の開催 > 対象" in sections
    assert sections["研修会の開催 > 対象"].endswith("市町村の担当職員が対象です。\n参加費は無料です。")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_text_encodings(tmp_path, encoding):
    path = write(tmp_path / "memo.txt", "1 除雪支援\n高齢者世帯の除雪を支援する。\n", encoding=encoding)
    chunks = document_chunks(load_file(path), "memo.txt")
    assert [c.page_content for c in chunks] == ["memo > 1 除雪支援\n高齢者世帯の除雪を支援する。"]


def test_undecodable_text_is_a_load_error(tmp_path):
    path = tmp_path / "binary.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LoadError):
        load_file(path)


def test_empty_file_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="空"):
        load_file(write(tmp_path / "empty.md", "\n\n"))


def test_unsupported_type(tmp_path):
    with pytest.raises(UnsupportedFile, match="対応していない"):
        load_file(write(tmp_path / "photo.jpg", "not an image"))


def test_plain_text_first_line_is_the_title_unless_it_is_a_heading_or_sentence(tmp_path):
    doc = load_file(write(tmp_path / "a1.txt", "地域づくり総合交付金 交付要綱\n\n1 目的\n地域の課題解決を支援する。\n"))
    chunks = document_chunks(doc, "a1.txt")
    assert doc.title == "地域づくり総合交付金 交付要綱"
    assert [c.page_content for c in chunks] == ["地域づくり総合交付金 交付要綱 > 1 目的\n地域の課題解決を支援する。"]
    assert load_file(write(tmp_path / "b2.txt", "申請は随時受け付けます。\n詳細は振興局へ。\n")).title == "b2"
