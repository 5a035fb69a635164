from __future__ import annotations

from collections.abc import Iterator

import pytest

from adguard_mw._faults import reset_fault_counts


@pytest.fixture(autouse=True)
def fresh_fault_counts() -> Iterator[None]:
    """Faults are logged once per process; each test starts as a fresh process would."""
    reset_fault_counts()
    yield
    reset_fault_counts()
