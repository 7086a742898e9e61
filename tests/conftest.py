"""Shared fixtures: the ../shared folder (skipped where absent, required under CI=true)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shared_dir import IN_CI, ROOT, SHARED, shared_path

__all__ = ["IN_CI", "ROOT", "SHARED", "shared_path"]


@pytest.fixture
def shared() -> Path:
    """The ../shared folder."""
    return shared_path()


@pytest.fixture(scope="session")
def conformance() -> Path:
    """../shared/conformance (validate.py, artefacts, official samples)."""
    return shared_path("conformance")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI=true a skipped test fails: shared artefacts and backends are required there.

    Mark a test ``@pytest.mark.may_skip`` only where skipping is legitimate on CI's machine too.
    """
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("may_skip") is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (required test): {reason}"
