"""The JSON Schema of the canonical invoice, with every field described by its EN 16931 term.

pydantic writes one definition per class, so an address or an identifier is described once
although its fields are different terms in different places (``city`` is BT-37 under the
seller, BT-52 under the buyer). :class:`RecordJsonSchema` gives such a class one definition per
use: ``SellerAddress``, ``BuyerAddress``, ``SellerIdentifier`` ..., each field described by
the term it stands for there (``"BT-37 Seller city"``) and carrying that id as ``bt``. A class
used in one place only, or described alike everywhere, keeps its one definition.
:meth:`gateway.model.Invoice.model_json_schema` uses it by default; it adds the example record
(:data:`gateway.model.example.EXAMPLE_RECORD`) as ``examples``.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema

from gateway.model.paths import _model_of, bt_of
from gateway.model.terms import SUFFIX_NAMES, TERM_NAMES

_REF = "#/$defs/"
_SPLIT = re.compile(r"_(.)")


class RecordJsonSchema(GenerateJsonSchema):
    """pydantic's generator, then one definition per use of a class described by position."""

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        """The schema of the model ``schema`` describes, with per-use definitions."""
        body = super().generate(schema, mode)
        title = body.get("title")
        if not isinstance(title, str) or "$defs" not in body:
            return body
        from gateway.model.invoice import Invoice

        if title != Invoice.__name__:
            return body
        return _PerUse(body).build(Invoice)


class _PerUse:
    """Rewrites the definitions of one schema: one per distinct description of a class."""

    def __init__(self, body: JsonSchemaValue) -> None:
        self.body = body
        self.defs: dict[str, Any] = body["$defs"]
        self.names: dict[str, str] = {}  # rendered content -> definition name
        self.out: dict[str, Any] = {}
        self.uses: dict[str, set[str]] = {}  # class name -> distinct renderings

    def build(self, root: type[BaseModel]) -> JsonSchemaValue:
        from gateway.model.example import EXAMPLE_RECORD

        self._count(root, ())
        top = {k: v for k, v in self.body.items() if k != "$defs"}
        top = self._render(root, top, ())
        top["examples"] = [copy.deepcopy(EXAMPLE_RECORD)]
        return {**top, "$defs": dict(sorted(self.out.items()))}

    # -- pass 1: how many different descriptions each class gets ---------------------------

    def _count(self, model: type[BaseModel], path: tuple[str, ...]) -> str:
        signature: list[str] = []
        for name, info in model.model_fields.items():
            child = _model_of(info.annotation)
            here = (*path, name)
            if child is None:
                signature.append(f"{name}={_describe(model, name, here)}")
            else:
                inner = self._count(child, here)
                self.uses.setdefault(child.__name__, set()).add(inner)
                signature.append(f"{name}:{hash(inner)}")
        return "|".join(signature)

    # -- pass 2: render each use, naming it by class or by position ------------------------

    def _render(
        self, model: type[BaseModel], node: dict[str, Any], path: tuple[str, ...]
    ) -> dict[str, Any]:
        new = copy.deepcopy(node)
        properties = new.get("properties", {})
        for name, prop in properties.items():
            info = model.model_fields.get(name)
            if info is None:
                continue
            here = (*path, name)
            child = _model_of(info.annotation)
            if child is None:
                prop["description"] = _describe(model, name, here)
                term = bt_of(here)
                if term is not None:
                    prop.setdefault("bt", term)
                continue
            target = self._use(child, here, model, name)
            _retarget(prop, child.__name__, target)
        return new

    def _use(
        self, model: type[BaseModel], path: tuple[str, ...], owner: type[BaseModel], field: str
    ) -> str:
        original = self.defs[model.__name__]
        rendered = self._render(model, original, path)
        several = len(self.uses.get(model.__name__, ())) > 1
        if several:
            parent = owner.model_fields[field].description or ""
            rendered["title"] = _name_for(owner, field)
            rendered["description"] = parent
        key = json.dumps(rendered, sort_keys=True, default=str)
        found = self.names.get(key)
        if found is not None:
            return found
        name = _name_for(owner, field) if several else model.__name__
        self.names[key] = name
        self.out[name] = rendered
        return name


def _retarget(node: Any, old: str, new: str) -> None:
    """Point every ``$ref`` to ``old`` inside ``node`` at ``new``."""
    if isinstance(node, dict):
        if node.get("$ref") == _REF + old:
            node["$ref"] = _REF + new
        for value in node.values():
            _retarget(value, old, new)
    elif isinstance(node, list):
        for value in node:
            _retarget(value, old, new)


def _name_for(owner: type[BaseModel], field: str) -> str:
    """``SellerAddress``, ``InvoiceLineAllowance``; under the invoice itself just the field."""
    camel = _SPLIT.sub(lambda m: m.group(1).upper(), field)
    camel = camel[:1].upper() + camel[1:]
    info = owner.model_fields[field]
    if isinstance(info.default, tuple) and camel.endswith("s"):
        camel = camel[:-1]  # a list of them: the definition is one item
    return camel if owner.__name__ == "Invoice" else owner.__name__ + camel


def _describe(model: type[BaseModel], field: str, path: tuple[str, ...]) -> str:
    """``BT-37 Seller city``: the term at ``path`` and its name; the field's own text when
    it is no EN 16931 term (or names it already)."""
    info = model.model_fields[field]
    own = info.description or ""
    term = bt_of(path)
    if term is None or own.startswith(f"{term} "):
        return own or field.replace("_", " ").capitalize()
    name = TERM_NAMES.get(term) or _term_name(term)
    return f"{term} {name}" if name else f"{term} {own}".strip()


def _term_name(term: str) -> str:
    """The name of a term known from a field's own description (``BT-29 Seller identifier``),
    or of its scheme attribute (``BT-29-1``)."""
    base, suffix = term, ""
    for end in SUFFIX_NAMES:
        if term.endswith(end) and term.count("-") == 2:
            base, suffix = term[: -len(end)], SUFFIX_NAMES[end]
    name = _own_names().get(base, "")
    return f"{name} {suffix}".strip() if name else ""


_NAMES: dict[str, str] = {}


def _own_names() -> dict[str, str]:
    """Term id -> name, from every model field whose description starts with its id."""
    if not _NAMES:
        from gateway.model.invoice import Invoice

        _collect(Invoice, set())
    return _NAMES


def _collect(model: type[BaseModel], seen: set[str]) -> None:
    if model.__name__ in seen:
        return
    seen.add(model.__name__)
    for info in model.model_fields.values():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        term = extra.get("bt")
        text = info.description or ""
        if isinstance(term, str) and text.startswith(f"{term} "):
            _NAMES.setdefault(term, text.removeprefix(f"{term} "))
        child = _model_of(info.annotation)
        if child is not None:
            _collect(child, seen)
