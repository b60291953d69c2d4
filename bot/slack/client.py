"""The Slack Web API client every call goes through (GovSlack: ``SLACK_API_URL``).

Imports only slack_sdk, so the workflow service, the web console and the CLI can talk to Slack
without building the Bolt app.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.errors import ConfigError
from bot.settings import Settings


def make_client(settings: Settings) -> WebClient:
    if settings.slack_bot_token is None:
        raise ConfigError("設定 SLACK_BOT_TOKEN が未設定です。Slack アプリのボットトークンを設定してください。")
    return WebClient(
        base_url=settings.slack_api_url,
        token=settings.slack_bot_token.get_secret_value(),
        timeout=30,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
