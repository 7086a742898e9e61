"""`igw run` runs the apscheduler sweeps beside the worker, and stops them with it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest

import gateway.delivery.sweeps
from gateway.delivery.worker import run_worker

ROOT = Path(__file__).resolve().parent.parent


class RecordingSweeper:
    """Stands in for gateway.delivery.sweeps.Sweeper and records its life cycle."""

    created: ClassVar[list[RecordingSweeper]] = []

    def __init__(self, store: Any, profiles: Any, **_: Any) -> None:
        self.events: list[str] = []
        RecordingSweeper.created.append(self)

    def start(self) -> None:
        self.events.append("start")

    def shutdown(self, wait: bool = True) -> None:
        self.events.append("shutdown")


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingSweeper]:
    RecordingSweeper.created = []
    monkeypatch.setattr(gateway.delivery.sweeps, "Sweeper", RecordingSweeper)
    return RecordingSweeper


def test_long_running_worker_starts_and_stops_the_sweeps(
    tmp_path: Path, recording: type[RecordingSweeper]
) -> None:
    """A worker that runs until stopped starts the sweeps first and shuts them down on stop."""
    stop = threading.Event()
    stop.set()  # stop at once: the run still goes through start-up and shutdown
    run_worker(f"sqlite:///{tmp_path / 'g.db'}", ROOT / "config" / "buyers", stop=stop)
    assert [s.events for s in recording.created] == [["start", "shutdown"]]


def test_drain_run_has_no_sweeps(tmp_path: Path, recording: type[RecordingSweeper]) -> None:
    """`--until-empty` (the demo's drain run) does not start the sweeps."""
    run_worker(f"sqlite:///{tmp_path / 'g.db'}", ROOT / "config" / "buyers", until_empty=True)
    assert recording.created == []
