"""The Slack staff surfaces, one package: the case card in the staff channel (`card`), the reply
and note modals (`modals`), the staff App Home queue (`home`), the texts posted to officers
(`notices`), the workflow's Slack port (`notify.SlackStaffNotifier`), and the thin listeners
(`listeners`) that call the one staff workflow (`bot.cases.workflow.StaffWorkflow`).

Pure builders take a `StaffCase` (`model`, loaded by `cases`) and are unit-tested without Slack.
"""

from __future__ import annotations


def register(app, services) -> None:
    from bot.slack.staff import faq, listeners

    listeners.register(app, services)
    faq.register(app, services)
