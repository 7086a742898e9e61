"""Field paths and the EN 16931 business terms they stand for."""

from __future__ import annotations

import re
import types
import typing
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

_INDEX = re.compile(r"\[(\d+)\]")

# Sub-fields whose id is the parent's id with a suffix (EN 16931 "-1"/"-2" attributes).
_SUFFIX = {"scheme": "-1", "version": "-2"}


def split_path(path: str | tuple[Any, ...]) -> tuple[str, ...]:
    """Field names of a path: ``"lines[2].price.net"`` -> ``("lines", "price", "net")``."""
    if isinstance(path, str):
        path = tuple(_INDEX.sub("", path).split("."))
    return tuple(p for p in path if isinstance(p, str) and p and not p.isdigit())


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X | None`` or ``tuple[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


@lru_cache(maxsize=4096)
def _bt_of(names: tuple[str, ...]) -> str | None:
    from gateway.model.invoice import Invoice

    model: type[BaseModel] | None = Invoice
    term: str | None = None
    children: dict[str, str] = {}
    for name in names:
        if model is None or name not in model.model_fields:
            return term + _SUFFIX[name] if term and name in _SUFFIX else term
        info = model.model_fields[name]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        own = extra.get("bt")
        if name in children:
            term = children[name]
        elif isinstance(own, str):
            term = own
        elif name in _SUFFIX and term:
            term = term + _SUFFIX[name]
        kids = extra.get("bt_children")
        children = {k: str(v) for k, v in kids.items()} if isinstance(kids, dict) else {}
        model = _model_of(info.annotation)
    return term


def bt_of(path: str | tuple[Any, ...]) -> str | None:
    """The BT/BG id of the most specific term on ``path``: ``"seller.address.city"`` -> BT-37."""
    return _bt_of(split_path(path))
