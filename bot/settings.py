"""The one settings object of the product (pydantic-settings, reads `.env`).

Built once at the entry point (`bot.cli`) and passed down. Secrets are `SecretStr`, so they never
show in `repr()` or logs. `load_settings()` turns a validation error into `ConfigError` with one
line per bad setting, named by its environment variable.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, field_validator

from bot.errors import ConfigError
from ingest.settings import IndexSettings


class Settings(IndexSettings):
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    staff_channel: str | None = Field(None, validation_alias="CONSULT_STAFF_CHANNEL")
    # Comma-separated Slack user ids, e.g. "U012,U034".
    staff_users_raw: str = Field("", validation_alias="CONSULT_STAFF_USERS")
    llm_model: str = Field("gpt-4o-mini", validation_alias="CONSULT_LLM_MODEL")
    llm_timeout: float = Field(30.0, validation_alias="CONSULT_LLM_TIMEOUT", gt=0)
    llm_max_retries: int = Field(1, validation_alias="CONSULT_LLM_MAX_RETRIES", ge=0)
    # Optional CSV mapping Slack user/channel ids to municipalities (see README).
    municipality_map: str | None = Field(None, validation_alias="CONSULT_MUNICIPALITY_MAP")
    http_port: int = Field(3000, validation_alias="PORT", gt=0, lt=65536)
    log_level: str = Field("INFO", validation_alias="CONSULT_LOG_LEVEL")

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("http:// または https:// で始まる URL を指定してください (must be an http(s) URL)")
        return value if value.endswith("/") else value + "/"

    @field_validator("staff_channel", "municipality_map", mode="before")
    @classmethod
    def _blank(cls, value):
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def staff_users(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.staff_users_raw.split(",") if u.strip())

    @property
    def slack_socket_mode_ready(self) -> bool:
        return bool(self.slack_bot_token and self.slack_app_token)

    @property
    def slack_http_ready(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url or
                    (self.azure_openai_endpoint and self.azure_openai_deployment))

    @property
    def database_url_resolved(self) -> str:
        """SQLAlchemy URL of the case database: DATABASE_URL, else SQLite under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'consult.sqlite3').resolve()}"


def _env_name(field_name: str) -> str:
    field = Settings.model_fields.get(field_name)
    alias = getattr(field, "validation_alias", None) if field else None
    return str(alias) if alias else field_name.upper()


def load_settings(**overrides) -> Settings:
    """Build the settings, or raise ConfigError naming every bad variable on its own line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = _env_name(str(err["loc"][0])) if err.get("loc") else "?"
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            lines.append(f"設定 {name} が不正です: {msg}")
        raise ConfigError("\n".join(lines)) from None
