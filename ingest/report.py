"""The result of one ingest run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class IngestReport:
    root: str = ""
    scope: str = ""
    dry_run: bool = False
    rebuild: bool = False
    embedding_model: str = ""
    collection: str = ""
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    failed: list[dict] = field(default_factory=list)  # {"path", "error"}
    unsupported: list[dict] = field(default_factory=list)  # {"path", "error"}
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    chars_loaded: int = 0
    elapsed_s: float = 0.0

    @property
    def files_failed(self) -> int:
        return len(self.failed)

    @property
    def exit_code(self) -> int:
        return 2 if self.failed else 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["files_failed"] = self.files_failed
        data["elapsed_s"] = round(self.elapsed_s, 3)
        return data
