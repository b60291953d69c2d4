"""Links in an answer: the ONE rule every surface applies before showing an answer.

An answer may link only to URLs that appear in the passages it cites (``answer.sources``). Any
other link the text carries — a Markdown link ``[text](url)``, Slack's ``<url|text>``, a bare
``https://…``, ``www.…`` or ``example.com`` address, an e-mail address — is shown as plain text:
its label stays, its address is "defanged" (``hxxps://evil[.]example/login``) so that no client
turns it into a link again. A model that was tricked into writing ``[公式サイト](https://evil…)``
therefore never puts a clickable phishing link in front of an officer.

``answer_segments(answer)`` splits the text into ``Text`` and ``Link`` pieces (``Link.allowed``
says which ones may be links); each surface renders them its own way — Slack mrkdwn in
``bot.slack.blocks``, plain text with ``plain_text`` (CLI, console chat, fallback texts), HTML in
the staff console. ``draft_text`` makes streamed text (shown before the citations are known)
unable to form any link at all; the final message replaces the draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

from bot.domain import Answer, Passage

# Slack (and most clients) link bare domains only for real top-level domains.
_TLDS = ("com|net|org|info|biz|jp|co|io|me|app|dev|xyz|site|online|top|club|shop|tech|ai|us|"
         "uk|de|fr|cn|ru|kr|tw|hk|sg|au|ca|nz|in|br|eu|gov|edu|int|mil|tv|cc|ly|gl|gg|to|link|"
         "page|web|cloud|pro|news|blog|store")
_PATH = r"(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
_URL = r"(?:https?|ftp)://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"
_WWW = r"www\.[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+" + _PATH
_DOMAIN = r"(?<![\w@.\-/])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+(?:" + _TLDS + r")(?![\w\-])" + _PATH
_EMAIL = r"(?<![\w.+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"

_MARKDOWN = re.compile(r"\[([^\[\]\n]{1,300})\]\(\s*<?([^()\s<>]+(?:\([^()\s]*\)[^()\s<>]*)*)>?\s*\)")
# after escaping (&lt; … &gt;) or raw, as a model may write Slack's own link syntax
_SLACK = re.compile(r"(?:<|&lt;)((?:https?|mailto|ftp):[^|<>\s]+?)(?:\|([^<>\n]*?))?(?:>|&gt;)")
_BARE = re.compile("|".join(f"(?:{p})" for p in (_URL, _WWW, _EMAIL, _DOMAIN)), re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_"
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Link:
    url: str                     # as written (a bare domain has no scheme)
    label: str | None            # None for a bare address
    allowed: bool                # True: the cited passages contain this URL


Segment = Union[Text, Link]


def _trim(url: str) -> tuple[str, str]:
    """Split trailing punctuation (and an unbalanced ``)``) off a matched address."""
    tail = ""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def normalise(url: str) -> str:
    """Compare addresses without case in scheme/host, a trailing slash or a default scheme."""
    url = url.strip().strip("<>")
    lower = url.lower()
    if lower.startswith("mailto:"):
        return "mailto:" + url[7:].lower()
    if "@" in url and "://" not in url and "/" not in url:
        return "mailto:" + lower
    if "://" not in url:
        url = "http://" + url
    scheme, rest = url.split("://", 1)
    host, sep, path = rest.partition("/")
    path = (sep + path).rstrip("/")
    scheme = scheme.lower()
    if scheme == "https":
        scheme = "http"                           # the same page either way
    return f"{scheme}://{host.lower()}{path}"


def addresses(text: str) -> list[str]:
    """Every link address written in ``text`` (Markdown, Slack syntax, bare)."""
    found = [m.group(2) for m in _MARKDOWN.finditer(text or "")]
    found += [m.group(1) for m in _SLACK.finditer(text or "")]
    found += [_trim(m.group(0))[0] for m in _BARE.finditer(text or "")]
    return found


def allowed_urls(passages: Iterable[Passage]) -> frozenset[str]:
    """The addresses the passages contain (normalised): the only ones an answer may link to."""
    out = set()
    for p in passages:
        for address in addresses(p.text):
            out.add(normalise(address))
    return frozenset(out)


def _allowed(url: str, allowed: frozenset[str]) -> bool:
    lower = url.lower()
    if "://" in lower or lower.startswith("mailto:"):
        if not lower.startswith(_SAFE_SCHEMES):
            return False                          # javascript:, data:, ftp:… never
    return normalise(url) in allowed


def split_links(text: str, allowed: frozenset[str]) -> list[Segment]:
    """``text`` as plain pieces and links, each link marked allowed or not."""
    segments: list[Segment] = []
    text = text or ""
    spans: list[tuple[int, int, str, str | None]] = []
    for m in _MARKDOWN.finditer(text):
        spans.append((m.start(), m.end(), m.group(2), m.group(1)))
    for m in _SLACK.finditer(text):
        spans.append((m.start(), m.end(), m.group(1), m.group(2) or None))
    spans.sort()
    taken: list[tuple[int, int, str, str | None]] = []
    for span in spans:                            # drop overlaps (first one wins)
        if not taken or span[0] >= taken[-1][1]:
            taken.append(span)
    cursor = 0
    for start, end, url, label in taken + [(len(text), len(text), "", None)]:
        _bare(text[cursor:start], allowed, segments)
        if url:
            segments.append(Link(url=url, label=label, allowed=_allowed(url, allowed)))
        cursor = end
    return segments


def _bare(text: str, allowed: frozenset[str], out: list[Segment]) -> None:
    cursor = 0
    for m in _BARE.finditer(text):
        url, tail = _trim(m.group(0))
        if not url:
            continue
        if m.start() > cursor:
            out.append(Text(text[cursor:m.start()]))
        out.append(Link(url=url, label=None, allowed=_allowed(url, allowed)))
        cursor = m.start() + len(url)
        if tail:
            out.append(Text(tail))
            cursor += len(tail)
    if cursor < len(text):
        out.append(Text(text[cursor:]))


def answer_segments(answer: Answer) -> list[Segment]:
    return split_links(answer.text, allowed_urls(answer.sources))


def defang(address: str) -> str:
    """``https://evil.example/a`` -> ``hxxps://evil[.]example/a``: readable, never a link."""
    out = re.sub(r"^(?i:http)", "hxxp", address.strip())
    out = re.sub(r"^(?i:ftp)", "fxp", out)
    scheme, sep, rest = out.partition("://")
    if not sep:
        scheme, rest = "", out
    host, slash, path = rest.partition("/")
    host = host.replace(".", "[.]").replace("@", "[at]")
    return (scheme + sep if sep else "") + host + slash + path.replace("://", "[:]//")


def plain_text(segments: Sequence[Segment]) -> str:
    """Segments as text: allowed links as ``label（url）``, others with a defanged address."""
    parts = []
    for seg in segments:
        if isinstance(seg, Text):
            parts.append(seg.text)
            continue
        shown = seg.url if seg.allowed else defang(seg.url)
        parts.append(f"{seg.label}（{shown}）" if seg.label and seg.label != seg.url else shown)
    return "".join(parts)


def answer_plain_text(answer: Answer) -> str:
    return plain_text(answer_segments(answer))


def recorded_segments(text: str, sources: Iterable[dict]) -> list[Segment]:
    """A recorded answer (a turn: its text and its stored sources) split by the same rule. The
    stored passage texts are shortened, so a link they no longer show stays plain text."""
    passages = [Passage(chunk_id="", text=str(src.get("text") or ""), source="", title="",
                        section="", page=None, doc_type="", score=0.0) for src in sources]
    return split_links(text or "", allowed_urls(passages))


def href(link: Link) -> str:
    """The target of an allowed link (a bare domain or e-mail address gets its scheme)."""
    url = link.url
    if "://" in url or url.lower().startswith("mailto:"):
        return url
    return ("mailto:" if "@" in url else "https://") + url


_DRAFT_BREAKS = str.maketrans({":": ":\u200b", ".": ".\u200b", "]": "]\u200b", "@": "@\u200b"})


def draft_text(token: str) -> str:
    """Streamed text (before the citations are checked): no character sequence in it can form a
    link, whatever the neighbouring tokens are (a zero-width space after ``: . ] @``)."""
    return (token or "").translate(_DRAFT_BREAKS)
