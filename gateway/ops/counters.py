"""Counters kept in the process, incremented by the engine (not computed from the store).

Records rejected at submit leave nothing in the store, so they cannot be counted at scrape time
like the business gauges of :mod:`gateway.ops.metrics`: ``submit`` counts them here, by tenant
and reason, and every ``/metrics`` of this process reports them. Per process: with
``igw serve --workers N`` or several instances each reports its own (Prometheus sums them).

This module imports nothing of the engine (the delivery package imports it)::

    count_submitted("default", report.outcomes)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from prometheus_client import Counter

#: the reasons a record is rejected at submit (a fixed vocabulary: bounded label values)
REASONS = ("intake", "routing", "config", "rules", "refused")

SUBMIT_REJECTED = Counter(
    "igw_submit_rejected",
    "Records not stored at submit (this process), by tenant and reason: intake (the record "
    "could not be read), routing (no buyer profile), config (the profile cannot render or "
    "deliver), rules (business rules or document validation), refused (the number is stored "
    "with other content)",
    ["tenant", "reason"],
    registry=None,  # registered by each app's registry (gateway.ops.metrics)
)


class _Problem(Protocol):
    @property
    def rule(self) -> str: ...
    @property
    def flag(self) -> str: ...


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def problems(self) -> Sequence[_Problem]: ...


def reject_reason(outcome: _Outcome) -> str | None:
    """The reason label of a submit outcome (one of :data:`REASONS`); None when stored or a
    duplicate."""
    if outcome.status == "refused":
        return "refused"
    if outcome.status != "rejected":
        return None
    if outcome.message == "not read":
        return "intake"
    fatal = [p.rule for p in outcome.problems if p.flag == "fatal"] or ["?"]
    first = fatal[0]
    if first == "INPUT":
        return "intake"
    if first == "ROUTING":
        return "routing"
    if first == "CONFIG":
        return "config"
    return "rules"


def count_submitted(tenant: str, outcomes: Iterable[_Outcome]) -> None:
    """Count the records of one submit call that were not stored."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        reason = reject_reason(outcome)
        if reason is not None:
            counts[reason] = counts.get(reason, 0) + 1
    for reason, count in counts.items():
        SUBMIT_REJECTED.labels(tenant, reason).inc(count)
