"""Per-invocation context of the CLI: builds the settings and the services once, on demand."""

from __future__ import annotations

import logging
from functools import cached_property

import typer

from bot.settings import Settings, load_settings


class CliContext:
    @cached_property
    def settings(self) -> Settings:
        settings = load_settings()
        logging.basicConfig(
            level=getattr(logging, settings.log_level.upper(), logging.INFO),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # No personal data in any log line, at any level (bot/pii/logs.py).
        from bot.pii import PiiGuard
        from bot.pii.logs import install

        install(PiiGuard.from_settings(settings))
        # Quiet libraries that are chatty at INFO.
        for noisy in ("httpx", "chromadb", "urllib3", "slack_bolt.App"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        return settings

    def quiet_logs_for_console(self) -> None:
        """In a console conversation, INFO lines would interleave with the answers: show only
        warnings unless CONSULT_LOG_LEVEL was set explicitly."""
        if "log_level" not in self.settings.model_fields_set:
            logging.getLogger().setLevel(logging.WARNING)

    def without_web(self) -> None:
        """`--no-web`: the settings say the console is off (before the services are built, so
        App Home offers no console button)."""
        if "services" in self.__dict__:
            raise RuntimeError("without_web() must come before the services are built")
        self.__dict__["settings"] = self.settings.model_copy(update={"web_enabled": False})

    @cached_property
    def services(self):
        from bot.services import build_services

        return build_services(self.settings)


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):  # called outside the root callback (tests)
        obj = CliContext()
        ctx.find_root().obj = obj
    return obj
