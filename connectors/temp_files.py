"""The hidden temporary names the file and SFTP connectors write under, and which of them are
stale (left by a send that was killed between writing and renaming).

A document is written as ``.<final name>.<32 hex>.tmp`` in the target folder and renamed
(linked) to ``<final name>`` = ``<stem>.<16 hex key hash>.<ext>``. Only names of exactly that
shape are ever removed - a buyer's own files, even hidden ``.tmp`` ones, never match - and only
when older than a grace period, so an upload in progress (another worker's) is left alone.
"""

from __future__ import annotations

import re
import uuid

#: temporary files younger than this are an upload in progress, not debris (seconds)
DEFAULT_TEMP_GRACE_SECONDS = 900.0

_TEMP = re.compile(r"^\.(?P<final>.+\.[0-9a-f]{16}\.[A-Za-z0-9_-]{1,20})\.[0-9a-f]{32}\.tmp$")


def temp_name(final_name: str) -> str:
    """A fresh hidden temporary name for a file that will be renamed to ``final_name``."""
    return f".{final_name}.{uuid.uuid4().hex}.tmp"


def is_our_temp(name: str) -> bool:
    """True when ``name`` (a base name) is one of our temporary names."""
    return _TEMP.match(name) is not None


def is_stale(name: str, age_seconds: float, grace_seconds: float) -> bool:
    """True when ``name`` is one of our temporary names and older than the grace period."""
    return is_our_temp(name) and age_seconds > grace_seconds
