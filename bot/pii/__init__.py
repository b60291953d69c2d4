"""Personal data (PII) guard: one service that finds and masks Japanese personal data before
anything leaves the process or is stored (see guard.py)."""

from bot.pii.guard import PII_NOTICE, PiiGuard
from bot.pii.spans import KINDS, LABELS, PLACEHOLDERS, Span

__all__ = ["PII_NOTICE", "PiiGuard", "KINDS", "LABELS", "PLACEHOLDERS", "Span"]
