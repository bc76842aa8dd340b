from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _eager(eager_tasks):
    """The reset mail is sent by a task; these tests read that mail."""


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Many password checks; the hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
