"""Intake: ERP records (JSON, JSON Lines, CSV) into completed canonical Invoices.

``read_records(path_or_bytes)`` yields a :class:`RecordResult` per record: an accepted
:class:`gateway.model.Invoice` (totals completed) or the :class:`gateway.errors.Problem` s that
rejected it, in plain words with field path and BT id. ``record_json_schema()`` describes the
record format. Business rules are not checked here; callers add their findings with
:meth:`RecordResult.with_problems`.
"""

from gateway.intake.reader import FORMATS, read_records
from gateway.intake.record_schema import record_json_schema
from gateway.intake.results import RecordResult

__all__ = ["FORMATS", "RecordResult", "read_records", "record_json_schema"]
