"""End to end with the real retriever and extractive answerer over the bundled knowledge base:
the turn records what the product really produced."""

from __future__ import annotations

from bot.cases.store import CaseStore
from bot.services import build_services

from .conftest import inquiry


def test_consultation_with_the_real_answerer_is_logged(indexed_settings):
    settings = indexed_settings()
    services = build_services(settings)
    try:
        result = services.consultation.consult(
            inquiry("地域おこし協力隊の任期後の定住について、道はどんな支援をしていますか？", key="Ev-real"))
        assert result.answer.answered and result.answer.mode == "extractive"
        store = services.store
        detail = store.case_detail(result.case_ref)
        [turn] = detail.turns
        assert turn.answer == result.answer.text
        assert turn.mode == "extractive" and turn.prompt_version == result.answer.prompt_version
        assert turn.sources and all(s["source"] for s in turn.sources)
        assert turn.evidence == result.answer.evidence and turn.latency_ms == result.answer.latency_ms
        # the programme comes from the cited source's section (its deepest heading)
        assert detail.case.programmes, detail.case.programmes
        assert detail.case.programmes[0] in turn.sources[0]["section"]

        # out of scope: declined honestly and handed to staff
        declined = services.consultation.consult(
            inquiry("明日の札幌の天気と、おすすめのラーメン屋を教えて", thread="2.2", key="Ev-oos"))
        assert not declined.answer.answered
        case = store.get_case(declined.case_id)
        assert case.status == "needs_staff" and case.escalation_reason == "not_answered"
    finally:
        services.store.close()
    # the SQLite database lives under the data dir
    assert (settings.data_dir / "consult.sqlite3").exists()
    reopened = CaseStore.from_settings(settings, upgrade=False)
    try:
        assert reopened.is_migrated()
    finally:
        reopened.close()
