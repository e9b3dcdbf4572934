"""The emulator tests' HighLevel: freshly reset, with the two test locations and their tokens."""

from __future__ import annotations

import pytest

from tests.emulators.highlevel_client import seed_locations


@pytest.fixture
def highlevel(highlevel: str) -> str:
    seed_locations(highlevel)
    return highlevel
