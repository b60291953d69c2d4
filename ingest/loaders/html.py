"""HTML: the main text only (script/style/nav/header/footer/aside and forms dropped); h1–h6 give
the section structure."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from ingest.documents import LoadedDocument, TextLine
from ingest.loaders.encoding import decode_bytes

_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template",
         "iframe", "svg", "button"]
_BLOCKS = {"p", "li", "dd", "dt", "pre", "blockquote", "caption", "td", "th", "tr", "div",
           "section", "article", "main", "table", "ul", "ol", "dl", "br", "figcaption"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}


def _lines_from(node, out: list[TextLine]) -> None:
    buffer: list[str] = []

    def flush():
        text = re.sub(r"[ \t\u3000\r\n]+", " ", "".join(buffer)).strip()
        if text:
            out.append(TextLine(text))
        buffer.clear()

    def walk(el):
        for child in el.children:
            name = getattr(child, "name", None)
            if name is None:
                buffer.append(str(child))
            elif name in _HEADINGS:
                flush()
                text = child.get_text(" ", strip=True)
                if text:
                    out.append(TextLine(text, heading_level=_HEADINGS[name]))
            elif name in _BLOCKS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(node)
    flush()


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_SUPERSETS = {"shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "windows-31j": "cp932",
              "euc-jp": "euc_jp", "x-euc-jp": "euc_jp"}


def decode_html(raw: bytes) -> str:
    """The page as text: the charset it declares (when the bytes agree with it), else the
    plausibility-based detection shared with the text loaders (`encoding.decode_bytes`)."""
    m = _CHARSET.search(raw[:4096])
    if m and not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        declared = (m.group(1) or m.group(2)).decode("ascii").lower()
        try:
            return raw.decode(_SUPERSETS.get(declared, declared))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: detect instead
    return decode_bytes(raw)


def load_html(path: Path) -> LoadedDocument:
    soup = BeautifulSoup(decode_html(path.read_bytes()), "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(_DROP):
        tag.decompose()
    for tag in soup.select('[role="navigation"], [role="banner"], [role="contentinfo"]'):
        tag.decompose()
    root = soup.find("main") or soup.find(attrs={"role": "main"}) or soup.find("article") or soup.body or soup
    lines: list[TextLine] = []
    _lines_from(root, lines)
    # A leading h1 equal to the page title is the title, not a section.
    h1 = [line for line in lines if line.heading_level == 1]
    if len(h1) == 1:
        if not title:
            title = h1[0].text
        if h1[0].text == title or title.startswith(h1[0].text):
            lines.remove(h1[0])
    return LoadedDocument(title=title or path.stem, lines=lines)
