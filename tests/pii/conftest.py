import pytest

from bot.pii import PiiGuard


@pytest.fixture(scope="session")
def guard():
    """The real guard with GiNZA (loaded once per test process)."""
    return PiiGuard().warm()


@pytest.fixture(scope="session")
def fast():
    return PiiGuard(ner=False)
