"""Fixtures shared by the whole suite. Helpers that tests import live in `support.py`.

Every test runs without `$CHIPSWITCH_CATALOG`, so a developer's own catalog never changes a
result; a test that needs it sets it with monkeypatch.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chipswitch.api.session import Session
from chipswitch.catalog import ENV_VAR, Catalog


@pytest.fixture(autouse=True)
def _no_env_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ENV_VAR, raising=False)
    yield


@pytest.fixture(scope="session")
def session() -> Session:
    """A session over the shipped catalog (loaded once for the whole run)."""
    return Session()


@pytest.fixture(scope="session")
def catalog(session: Session) -> Catalog:
    """The shipped catalog."""
    return session.catalog
