"""A data folder of its own for each test of the local stack, and nothing it started left running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qbo_crm_sync.local import processes


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    yield folder
    processes.stop_owned(folder, grace_s=2)
