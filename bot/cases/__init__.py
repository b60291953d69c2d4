"""Consultation cases: durable log and staff follow-up workflow (SQLite or PostgreSQL).

Public entry points: ``bot.cases.store.CaseStore`` and the frozen views in ``bot.cases.views``.
"""
