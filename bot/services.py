"""Builds the service objects once per process and hands them to the surfaces (CLI, Slack).

Services are plain objects, never module globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:  # imports stay lazy so `consult --help` is instant
    from bot.answering.answerer import Answerer
    from bot.answering.retriever import HybridRetriever
    from bot.cases.store import CaseStore
    from bot.consultation import ConsultationService


@dataclass
class Services:
    settings: Settings
    retriever: "HybridRetriever"
    answerer: "Answerer"
    store: "CaseStore"
    consultation: "ConsultationService"


def build_services(settings: Settings) -> Services:
    from bot.answering.answerer import Answerer
    from bot.answering.retriever import HybridRetriever
    from bot.cases.store import CaseStore
    from bot.consultation import ConsultationService

    retriever = HybridRetriever.from_settings(settings)
    answerer = Answerer.from_settings(settings, retriever)
    store = CaseStore.from_settings(settings)
    consultation = ConsultationService(settings=settings, answerer=answerer, store=store)
    return Services(settings, retriever, answerer, store, consultation)
