"""Where ../shared is, and the rule for tests that need it (import this, not conftest)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_path(*parts: str) -> Path:
    """A path below ../shared; skips the test where it is absent, fails it under CI."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"CI=true but {path} is missing: shared-artefact tests must run in CI")
        pytest.skip(f"{path} not present (a clone without ../shared)")
    return path
