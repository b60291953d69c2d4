"""Decoding of text files published by Japanese local governments (UTF-8 with/without BOM,
Shift_JIS / CP932, and whatever charset-normalizer recognises)."""

from __future__ import annotations

from ingest.errors import LoadError


def decode_bytes(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8", "cp932", "euc_jp"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("文字コードを判別できませんでした (UTF-8 / Shift_JIS で保存してください)")
    return str(best)
