"""Hybrid retrieval and grounded Japanese answers (LLM or extractive)."""
