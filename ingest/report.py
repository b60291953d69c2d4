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
    # refused by policy: a link out of the folder, a file over CONSULT_MAX_FILE_MB
    skipped: list[dict] = field(default_factory=list)  # {"path", "error"}
    # what was found broken and put right (a previous ingest killed mid-way, …), in Japanese
    repairs: list[str] = field(default_factory=list)
    generation: str = ""  # the live index generation after this run
    switched: bool = False  # a rebuild switched readers to a new collection
    foreign_documents: int = 0  # documents other knowledge folders hold in this shared index
    pruned_foreign: int = 0  # chunks of other folders removed (--prune-foreign)
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
        """0 all indexed, 2 some files need the maintainer's attention (failed or skipped)."""
        return 2 if (self.failed or self.skipped) else 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["files_failed"] = self.files_failed
        data["elapsed_s"] = round(self.elapsed_s, 3)
        return data
