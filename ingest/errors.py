"""Exceptions of the ingest side. `ingest` never imports `bot`; the bot maps these to its own
domain errors (e.g. `IndexMissing` -> a polite "the index is not ready" reply)."""

from __future__ import annotations


class IngestError(Exception):
    """Base class. `str(exc)` is a Japanese message fit for the console."""


class IndexMissing(IngestError):
    def __init__(self, detail: str | None = None):
        super().__init__(
            detail
            or "資料の索引がまだ作成されていません。`consult ingest` を実行して資料を取り込んでください。"
        )


class IndexUnavailable(IngestError):
    """The vector store (a Chroma server) cannot be reached right now."""

    def __init__(self, detail: str | None = None):
        super().__init__(
            detail
            or "資料の索引（Chroma サーバー）に接続できません。しばらく待ってから再度お試しください。"
        )


class IngestLocked(IngestError):
    def __init__(self, lock_path: str, *, elsewhere: bool = False):
        where = "共有データベースのロック" if elsewhere else f"ロックファイル: {lock_path}"
        super().__init__(
            "別の取り込み処理が実行中のため、開始できませんでした。"
            f"しばらく待ってから再度実行してください。({where})"
        )
        self.lock_path = lock_path


class LoadError(IngestError):
    """A single file could not be turned into text. The message is shown in the report."""


class UnsupportedFile(LoadError):
    pass
