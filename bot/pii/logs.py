"""Log lines never carry personal data: every record is masked where it is made.

``install(guard)`` wraps the process's LogRecord factory (so every handler sees the masked
record — the file, the console, pytest's caplog alike) with ``PiiLogFilter``: the message is
formatted with its args, JSON ``\\uXXXX`` escapes and URL %-escapes (Slack SDK and Bolt log request
bodies at DEBUG) are decoded, the text is masked with the guard, and the record carries the masked
text with no args; a traceback is formatted and masked too. Records are made only for enabled
levels, so INFO-level serving pays nothing for DEBUG lines. Masked lines are remembered (LRU), so
a line logged again costs nothing. ``PiiLogFilter`` is also a ``logging.Filter`` for handlers
configured elsewhere (uvicorn's)."""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from urllib.parse import unquote

_ESCAPED = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){2,}")
_lock = threading.Lock()
_installed: "PiiLogFilter | None" = None


def _decode(text: str) -> str:
    if "\\u" in text:
        text = _ESCAPED.sub(lambda m: json.loads(f'"{m.group(0)}"'), text)
    if "%" in text and _PERCENT.search(text):
        text = _PERCENT.sub(lambda m: unquote(m.group(0)), text)
    return text


class PiiLogFilter(logging.Filter):
    def __init__(self, guard, cache_size: int = 2048):
        super().__init__()
        self.guard = guard
        self._mask = functools.lru_cache(maxsize=cache_size)(self._mask_uncached)

    def _mask_uncached(self, text: str) -> str:
        return self.guard.mask(_decode(text))[0]

    def mask(self, text: str) -> str:
        if not text or (text.isascii() and not any(c.isdigit() or c == "@" for c in text)
                        and "\\u" not in text and "%" not in text):
            return text           # nothing a detector could find (no Japanese, digits or @)
        return self._mask(text)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:                     # a broken format string: leave it to logging
            return True
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        record._pii_masked = True
        return True


def install(guard) -> PiiLogFilter:
    """Mask every log record of this process with ``guard`` (idempotent: a second call only
    swaps the guard)."""
    global _installed
    with _lock:
        if _installed is not None:
            _installed.guard = guard
            _installed._mask.cache_clear()
            return _installed
        flt = PiiLogFilter(guard)
        base = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            record = base(*args, **kwargs)
            flt.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = flt
        return flt
