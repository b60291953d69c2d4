"""Builds the service objects once per process and hands them to the surfaces (CLI, Slack, web).

Services are plain objects, never module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.activity import Activity
from bot.settings import Settings

if TYPE_CHECKING:  # imports stay lazy so `consult --help` is instant
    from bot.answering.answerer import Answerer
    from bot.answering.retriever import HybridRetriever
    from bot.cases.store import CaseStore
    from bot.cases.workflow import StaffWorkflow
    from bot.consultation import ConsultationService
    from bot.faq.service import FaqService
    from bot.faq.similar import SimilarCases
    from bot.faq.sync import FaqIndexSync
    from bot.pii import PiiGuard


@dataclass
class Services:
    settings: Settings
    retriever: "HybridRetriever"
    answerer: "Answerer"
    store: "CaseStore"
    consultation: "ConsultationService"
    workflow: "StaffWorkflow"
    faq: "FaqService | None" = None      # FAQ entries from staff answers (bot.faq)
    faq_sync: "FaqIndexSync | None" = None   # keeps this process's index in step with them
    similar: "SimilarCases | None" = None     # similar past cases for the staff surfaces
    pii: "PiiGuard | None" = None             # the one PII guard (bot.pii): every path masks with it
    activity: Activity = field(default_factory=Activity)   # requests served (background work waits)

    def start_background(self) -> None:
        """Long-running processes (serve, web, chat): start the FAQ index sync thread, and load
        the PII guard's NER model now (in the background) rather than on the first question."""
        if self.faq_sync is not None:
            self.faq_sync.start()
        if self.pii is not None and self.pii.ner:
            import threading

            threading.Thread(target=self.pii.warm, name="pii-warm", daemon=True).start()

    def stop_background(self) -> None:
        if self.faq_sync is not None:
            self.faq_sync.stop()


def build_services(settings: Settings) -> Services:
    from bot.answering.answerer import Answerer
    from bot.answering.retriever import HybridRetriever
    from bot.cases.store import CaseStore
    from bot.consultation import ConsultationService
    from bot.faq.similar import SimilarCases
    from bot.faq.sync import FaqIndexSync
    from bot.pii import PiiGuard

    pii = PiiGuard.from_settings(settings)
    retriever = HybridRetriever.from_settings(settings)
    answerer = Answerer.from_settings(settings, retriever)
    store = CaseStore.from_settings(settings)
    profiles = None
    if settings.slack_bot_token is not None:
        from bot.municipality import ProfileLookup
        from bot.slack.client import make_client

        profiles = ProfileLookup(make_client(settings))
    consultation = ConsultationService(settings=settings, answerer=answerer, store=store,
                                       profiles=profiles, pii=pii)
    similar = SimilarCases.from_settings(settings, store)
    workflow = build_workflow(settings, store, similar=similar, pii=pii)
    activity = Activity()
    faq_sync = FaqIndexSync(settings, store,
                            after_round=lambda: similar.warm(go_on=activity.quiet))
    return Services(settings, retriever, answerer, store, consultation, workflow,
                    build_faq(settings, store, workflow, on_change=faq_sync.wake), faq_sync,
                    similar, pii, activity)


def build_workflow(settings: Settings, store: "CaseStore", *, similar=None,
                   pii=None) -> "StaffWorkflow":
    """The one staff workflow (Slack, web console and CLI call it): the staff teams
    (``CONSULT_TEAMS_FILE``, else one team from the staff channel and users; a bad file raises
    ConfigError naming the line), the team-aware staff policy, the router handed to the store
    (teams file only) and, when a bot token is configured, the Slack notifier on a client built
    from the settings (``similar``: the similar past cases shown on the staff card)."""
    from bot.cases.team_policy import TeamStaffPolicy
    from bot.cases.workflow import StaffWorkflow
    from bot.teams import Teams

    from bot.pii import PiiGuard

    mask = (pii or PiiGuard.from_settings(settings)).mask_text
    teams = Teams.from_settings(settings)
    if not teams.single_team:
        store.router = teams.route
    if settings.slack_bot_token is None:
        return StaffWorkflow(store, TeamStaffPolicy.from_settings(settings, teams=teams), mask=mask)
    from bot.slack.client import make_client
    from bot.slack.staff.notify import SlackStaffNotifier

    client = make_client(settings)
    workflow = StaffWorkflow(store, TeamStaffPolicy.from_settings(settings, client, teams=teams),
                             mask=mask)
    workflow.notifier = SlackStaffNotifier(client, store, settings.staff_channel,
                                           channel_for=workflow.card_channel,
                                           team_name=workflow.team_name, similar=similar)
    return workflow


def build_faq(settings: Settings, store: "CaseStore", workflow: "StaffWorkflow", *,
              on_change=None) -> "FaqService":
    """The one FAQ service: the workflow's staff policy and PII masking; the index's section
    paths (for 該当箇所) read from the knowledge base index without loading the model."""
    from bot.faq.service import FaqService
    from ingest.index import list_sections

    return FaqService(store, workflow.policy, mask=workflow.mask,
                      sections=lambda: list_sections(settings), on_change=on_change)
