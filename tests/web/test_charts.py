"""Server-drawn SVG charts: escaped labels, patterns besides colours, values written out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.web import charts

SERIES = (charts.Series("a", "ボットが回答", "#2f6db5", "solid"),
          charts.Series("b", "回答できず", "#c26a1b", "hatch"))


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))          # well-formed XML


def test_stacked_columns_have_patterns_totals_and_a_description():
    svg = charts.stacked_columns(["11/02", "11/09"], [(3, 1), (0, 0)], SERIES, title="週ごと")
    root = parse(svg)
    assert root.get("role") == "img"
    text = str(svg)
    assert 'fill="url(#p-hatch)"' in text and "ボットが回答" in text and "回答できず" in text
    assert ">4</text>" in text                         # the total above the column
    assert "11/02: 4 件、11/09: 0 件" in text         # the description lists every value


def test_labels_from_documents_are_escaped():
    svg = charts.horizontal_bars([("<script>alert(1)</script>", 3), ("", 1)], title="事業別")
    text = str(svg)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "未設定" in text and ">3</text>" in text
    parse(svg)


def test_lines_break_on_missing_values_and_differ_by_marker():
    first = charts.Series("x", "初回回答まで", "#0b5cad", "solid")
    second = charts.Series("y", "解決まで", "#8a5a00", "solid")
    svg = charts.line(["a", "b", "c"], [(first, [1.0, None, 3.0]), (second, [2.0, 2.5, None])],
                      title="時間", fmt=lambda v: f"{v:.0f} 時間")
    text = str(svg)
    assert text.count('r="3.5"') == 2 and text.count('stroke-dasharray="6 4"') == 1
    assert "初回回答まで: a 1 時間、c 3 時間" in text
    parse(svg)
    assert "データがありません" in str(charts.line([], [(first, [])], title="空"))
