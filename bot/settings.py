"""The one settings object of the product (pydantic-settings, reads `.env`).

Built once at the entry point (`bot.cli`) and passed down. Secrets are `SecretStr`, so they never
show in `repr()` or logs. `load_settings()` turns a validation error into `ConfigError` with one
line per bad setting, named by its environment variable.
"""

from __future__ import annotations

from typing import Literal

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
    # Optional YAML file of staff teams (振興局 / 本庁 sections) and the cases they take (README)
    teams_file: str | None = Field(None, validation_alias="CONSULT_TEAMS_FILE")
    # Durable inbox: how long a failing Slack post is retried before the case goes to staff
    # (reason delivery_failed), and how long a claimed delivery stays with one replica without
    # its heartbeat before another replica takes it over.
    delivery_retry_s: float = Field(600.0, validation_alias="CONSULT_DELIVERY_RETRY_S", gt=0)
    inbox_lease_s: float = Field(30.0, validation_alias="CONSULT_INBOX_LEASE_S", ge=1)
    http_port: int = Field(3000, validation_alias="PORT", gt=0, lt=65536)
    log_level: str = Field("INFO", validation_alias="CONSULT_LOG_LEVEL")
    # the PII guard's name detection (GiNZA NER; ~500 MB, ~3 s to load once per process)
    pii_ner: bool = Field(True, validation_alias="CONSULT_PII_NER")
    # ---- the staff web console (bot/web) ----
    # False: this process serves no console (`consult serve --no-web` sets it): App Home then
    # offers no 「職員用ページを開く」 button
    web_enabled: bool = Field(True, validation_alias="CONSULT_WEB_ENABLED")
    web_host: str = Field("127.0.0.1", validation_alias="CONSULT_WEB_HOST")
    web_port: int = Field(8080, validation_alias="CONSULT_WEB_PORT", ge=0, lt=65536)
    # The URL staff open (links in Slack, login links); default http://<host>:<port>
    web_base_url_raw: str | None = Field(None, validation_alias="CONSULT_WEB_BASE_URL")
    # Signs session cookies and login links; default: a random key kept in <data dir>/web_secret
    web_secret: SecretStr | None = Field(None, validation_alias="CONSULT_WEB_SECRET")
    web_session_minutes: int = Field(480, validation_alias="CONSULT_WEB_SESSION_MINUTES", gt=0)
    web_login_link_minutes: int = Field(10, validation_alias="CONSULT_WEB_LOGIN_LINK_MINUTES",
                                        gt=0, le=1440)
    web_request_timeout: float = Field(15.0, validation_alias="CONSULT_WEB_REQUEST_TIMEOUT", gt=0)
    # Cookies only over https (set when the console is served behind TLS)
    web_secure_cookies: bool = Field(False, validation_alias="CONSULT_WEB_SECURE_COOKIES")
    # Who the person at this machine is (CLI actor, `make run` console login); default cli:<login>
    local_operator_raw: str | None = Field(None, validation_alias="CONSULT_LOCAL_OPERATOR")
    # ---- Sign in with Slack (OpenID Connect) ----
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    slack_oidc_authorize_url: str = Field("https://slack.com/openid/connect/authorize",
                                          validation_alias="SLACK_OIDC_AUTHORIZE_URL")
    # The workspace whose members may sign in (default: the bot token's team, from auth.test)
    slack_team_id: str | None = Field(None, validation_alias="SLACK_TEAM_ID")
    # `consult run` refreshes the index on start: "auto" = with the embedded Chroma only (with a
    # Chroma server, replicas share the index and one host or a scheduled job ingests).
    ingest_on_start: Literal["auto", "true", "false"] = Field("auto", validation_alias="CONSULT_INGEST_ON_START")
    # ---- FAQ entries from staff answers (bot/faq) ----
    # How often each running process checks for approved / retired entries to (un)index
    faq_sync_seconds: float = Field(10.0, validation_alias="CONSULT_FAQ_SYNC_SECONDS", gt=0, le=60)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("http:// または https:// で始まる URL を指定してください (must be an http(s) URL)")
        return value if value.endswith("/") else value + "/"

    @field_validator("staff_channel", "municipality_map", "teams_file", "web_base_url_raw", "local_operator_raw",
                     "slack_client_id", "slack_team_id", mode="before")
    @classmethod
    def _blank(cls, value):
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("web_base_url_raw", "slack_oidc_authorize_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("http:// または https:// で始まる URL を指定してください (must be an http(s) URL)")
        return value

    @property
    def web_base_url(self) -> str:
        """Where staff open the console (no trailing slash)."""
        if self.web_base_url_raw:
            return self.web_base_url_raw
        host = self.web_host if self.web_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.web_port}"

    @property
    def local_operator_id(self) -> str:
        """The person at this machine: CONSULT_LOCAL_OPERATOR, else ``cli:<login>`` (the CLI's
        actor convention), so the CLI and the local console share one identity."""
        if self.local_operator_raw:
            return self.local_operator_raw.strip()
        import getpass

        try:
            login = getpass.getuser()
        except Exception:  # no login name in some containers
            login = "unknown"
        return f"cli:{login}"

    @property
    def oidc_configured(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)
    @field_validator("ingest_on_start", mode="before")
    @classmethod
    def _on_start(cls, value):
        text = str(value).strip().lower()
        aliases = {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false", "off": "false", "": "auto"}
        return aliases.get(text, text)

    @property
    def ingests_on_start(self) -> bool:
        if self.ingest_on_start == "auto":
            return not self.chroma_host
        return self.ingest_on_start == "true"

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
