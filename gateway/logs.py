"""Log output of every ``igw`` command: ``--log-level`` and ``--log-format`` (stdlib logging).

One handler on the root logger, writing to the *current* ``sys.stderr`` (so a test's captured
stream, or a redirected one, gets the lines). Two formats:

* ``text`` — ``2026-12-02T16:04:05Z INFO gateway.delivery.worker: delivery 7 (INV-1 -> acme)
DELIVERED``;
* ``json`` — one JSON object per line: ``time``, ``level``, ``logger``, ``message`` and the
  structured fields the call passed in ``extra`` (``invoice``, ``delivery``, ``buyer``,
  ``state``...)::

      log.info("delivery %d delivered", 7, extra={"delivery": 7, "invoice": "INV-1"})

Fields that concern the work in hand — :data:`CONTEXT_FIELDS`: the ``tenant``, the
``invoice`` (number) and the ``delivery`` (id) — are also carried by a context variable, so
every line logged inside the block carries them, down to a connector's own lines (the handler's
:class:`ContextFilter` adds them; a field the call passes in ``extra`` wins)::

    with log_context(tenant="default", invoice="INV-1", delivery=7):
        connector.send(...)  # its log lines carry the three fields

A thread does not inherit the context (``run_in_threadpool`` copies it; a plain
``ThreadPoolExecutor`` does not): open the block in the thread. The ``text`` format shows the
context fields after the message (``[tenant=default invoice=INV-1 delivery=7]``).

The chatty INFO lines of the HTTP, SFTP, scheduler and migration libraries are kept at
WARNING unless the level is ``debug``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TextIO

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
DEFAULT_LEVEL = "info"
DEFAULT_FORMAT = "text"
#: libraries that log every request (or migration step) at INFO: WARNING unless --log-level debug
QUIET_LIBRARIES = ("httpx", "httpcore", "paramiko", "apscheduler", "alembic")

#: the fields a log line about one piece of work carries, in the order the text format shows them
CONTEXT_FIELDS = ("tenant", "invoice", "delivery", "batch", "message_id")

_CONTEXT: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "igw_log_context", default=MappingProxyType({})
)

# Every attribute a LogRecord has of its own: the rest came in ``extra`` (structured fields).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _time(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of ``record`` (what the call passed in ``extra``)."""
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within the block every log line carries ``fields`` (``None`` values are left out; an
    outer block's fields stay unless named again)."""
    merged = {**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> Mapping[str, object]:
    """The fields :func:`log_context` blocks set here (for a thread started inside one)."""
    return _CONTEXT.get()


class ContextFilter(logging.Filter):
    """Adds the :func:`log_context` fields to each record that lacks them (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if record.__dict__.get(key) is None:
                record.__dict__[key] = value
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the structured fields
    (values JSON cannot hold are written as text); an exception as ``error``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields_of(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, default=_json_value, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL logger: message [tenant=... invoice=... delivery=...]`` (the context
    fields present; an exception as its last line, never a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_time(record.created)} {record.levelname} {record.name}: {record.getMessage()}"
        known = [(k, record.__dict__.get(k)) for k in CONTEXT_FIELDS]
        shown = " ".join(f"{k}={v}" for k, v in known if v is not None)
        if shown:
            text += f" [{shown}]"
        if record.exc_info:
            text += f" ({self.formatException(record.exc_info).splitlines()[-1]})"
        return text


class StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler on whatever ``sys.stderr`` is at the time of each record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure(level: str = DEFAULT_LEVEL, fmt: str = DEFAULT_FORMAT) -> logging.Handler:
    """Send log records at ``level`` and above to stderr in ``fmt``; replaces the handler an
    earlier call installed (other handlers, e.g. a test's, stay). Returns the handler."""
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}; accepted: {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}; accepted: {', '.join(FORMATS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    handler = StderrHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.DEBUG if level == "debug" else logging.WARNING
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    return handler


def json_logging() -> bool:
    """True when the installed handler writes JSON (a summary then is a JSON line too)."""
    return any(
        isinstance(h, StderrHandler) and isinstance(h.formatter, JsonFormatter)
        for h in logging.getLogger().handlers
    )


def summary(logger: str, message: str, **fields: Any) -> None:
    """A command's closing summary on stderr, whatever the log level: the plain line, or with
    ``--log-format json`` one JSON object (level ``info``, the fields beside the message)."""
    if not json_logging():
        print(message, file=sys.stderr)
        return
    record = logging.makeLogRecord(
        {"name": logger, "levelno": logging.INFO, "levelname": "INFO", "msg": message}
    )
    record.__dict__.update(fields)
    print(JsonFormatter().format(record), file=sys.stderr)
