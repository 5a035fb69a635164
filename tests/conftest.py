"""Shared by every test: a fresh fault count per test, the Hypothesis profiles, and the `slow` marker.

Hypothesis profiles: "dev" (the default) runs Hypothesis' usual example counts; "ci", selected by `CI=true` or
`HYPOTHESIS_PROFILE=ci` (and used by `./scripts/test.sh --fast`), runs fewer examples and keeps no example
database. Neither has a deadline: a loaded machine is slow, not wrong. Tests that set their own `max_examples`
keep it, unless they scale it by `settings.default.max_examples` as tests/security/test_hostile_input.py does.

`slow` marks the tests that start other programs or build things (framework servers, the packaging checks, the
benchmark smoke run); `./scripts/test.sh --fast` leaves them out, with the browser tests. The modules in
`ONE_WORKER` (the Spark tests, the framework servers) run in one pytest-xdist worker each, so the run starts one
Java process and each server once, not once per worker: our scheduler hook groups them by module path, because
pytest-xdist's own `xdist_group` marker is lost with pytest 9.2 (pytest-xdist issue 1386). Both run first, so
that the workers end together.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from playwright.async_api import expect

from adguard_mw._faults import reset_fault_counts

settings.register_profile("dev", deadline=None)  # a deadline times the machine, not the code
settings.register_profile(
    "ci", max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))

# `expect(...)` in the browser tests waits for what it asserts and returns as soon as it holds: on a loaded machine
# (CI, tests in parallel) a page may take longer than Playwright's default 5 s to get there: slow is not wrong.
expect.set_options(timeout=15_000)

_HERE = Path(__file__).resolve().parent
SLOW = ("frameworks", "test_packaging.py", "test_bench_smoke.py", "security/test_instances.py")
# Modules whose tests share one worker: one JVM per run; each framework's server started once, not once per worker.
ONE_WORKER = ("tests/report/test_engines.py", "tests/frameworks/test_frameworks.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts servers or builds packages (left out by test.sh --fast)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(item.path).resolve().relative_to(_HERE).as_posix()
        if any(relative == slow or relative.startswith(slow + "/") for slow in SLOW):
            item.add_marker(pytest.mark.slow)
    # The longest first (a stable sort: modules stay together), so that no worker is handed a long test at the end
    # while the other one has finished: the Spark group (xdist hands out groups first), then the `slow` ones.
    items.sort(key=lambda item: 0 if item.get_closest_marker("spark") else 1 if item.get_closest_marker("slow") else 2)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: absent with -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Load scheduling, except that each module in `ONE_WORKER` is handed out whole to one worker."""
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerPerModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER else nodeid

    return OneWorkerPerModule(config, log)


@pytest.fixture(autouse=True)
def fresh_fault_counts() -> Iterator[None]:
    """Faults are logged once per process; each test starts as a fresh process would."""
    reset_fault_counts()
    yield
    reset_fault_counts()
