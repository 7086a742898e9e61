"""DeclarativeMapping: a buyer format made of a template and a schema, no Python.

``render`` fills the sandboxed template with the invoice (a plain dict, ``model_dump(mode=
"json")``), the merged options and the envelope, then checks the text against the buyer's
schema. A violation raises :class:`gateway.errors.ValidationFailed` whose findings are
:class:`gateway.errors.Problem` s: the record (BT-1), the location in the output (JSON pointer,
``row N, column NAME``, XML path), the value, what the schema accepts, and where it can be traced
the template line and the canonical field (with its BT id) that fed the value. A template
fault (undefined name, sandbox refusal, bad filter input) raises :class:`TemplateFailed` naming
the template file and line.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ConfigError, ParseError, Problem, ValidationFailed
from gateway.model import Invoice, bt_of
from gateway.profiles.profile import BuyerProfile
from mappings.declarative import checks
from mappings.declarative.definition import FormatDefinition, read_definition
from mappings.declarative.sandbox import (
    csv_finalize,
    json_finalize,
    make_environment,
    xml_finalize,
)
from mappings.declarative.trace import expression_source, trace_value


class TemplateFailed(ConfigError):
    """A template could not be compiled or rendered; names the template file and line."""

    def __init__(self, template: Path, line: int | None, message: str, record: str = "") -> None:
        self.template = template
        self.line = line
        where = f"{template}:{line}" if line else str(template)
        tail = f" (rendering invoice {record})" if record else ""
        super().__init__(f"{where}: {message}{tail}")


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line of the innermost traceback frame inside template ``name``."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _why(exc: Exception) -> str:
    """The reason of a template failure in words (TemplateNotFound says only the name)."""
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"templates cannot load other files: {exc.name!r} refused"
    return str(exc)


class DeclarativeMapping:
    """A :class:`mappings.base.Mapping` defined by a TOML file, a template and a schema.

    ``load_format`` makes one subclass per format so ``name``/``syntax`` stay class attributes
    as the Mapping protocol states. Outbound only: ``parse`` raises ParseError.
    """

    name: ClassVar[str] = "declarative"
    syntax: ClassVar[str] = "json"
    rules: ClassVar[tuple[str, ...]] = ()
    definition: ClassVar[FormatDefinition]

    def __init__(self) -> None:
        d = self.definition
        source = d.template.read_text(encoding="utf-8")
        self._template_name = str(d.template)
        self._source_lines = source.splitlines()
        self._env = self._environment(source)
        try:
            self._template = self._env.get_template(self._template_name)
        except jinja2.TemplateError as exc:
            line = _template_line(exc, self._template_name)
            raise TemplateFailed(d.template, line, str(exc)) from None
        try:
            # Decimal keeps "multipleOf": 0.01 exact against Decimal amounts.
            self._schema: dict[str, Any] = json.loads(
                d.schema.read_text(encoding="utf-8"), parse_float=Decimal
            )
        except (OSError, ValueError) as exc:
            if d.output != "xml":
                raise ConfigError(f"{d.schema}: not a readable JSON Schema: {exc}") from exc
            self._schema = {}
        self._checker = self._make_checker()

    def _environment(self, source: str) -> ImmutableSandboxedEnvironment:
        d = self.definition
        if d.output == "json":
            return make_environment(self._template_name, source, json_finalize)
        if d.output == "csv":
            assert d.csv is not None
            return make_environment(
                self._template_name, source, csv_finalize(d.csv.delimiter, d.csv.decimal)
            )
        return make_environment(self._template_name, source, xml_finalize)

    def _make_checker(self) -> Any:
        d = self.definition
        if d.output == "xml":
            import xmlschema

            try:
                return xmlschema.XMLSchema(str(d.schema))
            except (xmlschema.XMLSchemaException, OSError) as exc:
                raise ConfigError(f"{d.schema}: not a usable XSD: {exc}") from exc
        meta = checks.make_validator(checks.DecimalValidator.META_SCHEMA)
        error = next(iter(meta.iter_errors(self._schema)), None)
        if error is not None:
            where = "/".join(map(str, error.absolute_path))
            raise ConfigError(f"{d.schema}: not a valid JSON Schema at /{where}: {error.message}")
        return checks.make_validator(self._schema)

    def render(
        self, invoice: Invoice, profile: BuyerProfile, envelope: Envelope | None = None
    ) -> Document:
        """Render ``invoice``; raise ValidationFailed when the output breaks the buyer schema."""
        d = self.definition
        data = invoice.model_dump(mode="json")
        context = {
            "invoice": data,
            "options": {**d.options, **profile.options},
            "envelope": _envelope(envelope),
        }
        try:
            text = self._template.render(context)
        # The template boundary: whatever a template raises (1/0 too) is the template's fault.
        except Exception as exc:
            line = _template_line(exc, self._template_name)
            raise TemplateFailed(d.template, line, _why(exc), invoice.number) from None
        findings = self.check(invoice.number, text, data)
        if findings:
            raise ValidationFailed(f"{invoice.number} as {self.name}", findings)
        return Document(
            text.encode("utf-8"),
            self.syntax,
            self.name,
            invoice.number,
            d.media_type,
            d.extension,
            self.rules,
        )

    def parse(self, data: bytes) -> Invoice:
        """Declarative formats are outbound only."""
        raise ParseError("declarative formats are outbound only", self.name)

    def check(self, record: str, text: str, data: dict[str, Any]) -> list[Problem]:
        """Every schema violation of ``text`` as a Problem (empty when it conforms)."""
        output = self.definition.output
        if output == "json":
            return self._check_json(record, text, data)
        if output == "csv":
            return self._check_csv(record, text, data)
        return self._check_xml(record, text, data)

    # --- JSON -----------------------------------------------------------------------------
    def _check_json(self, record: str, text: str, data: dict[str, Any]) -> list[Problem]:
        problems = []
        for pointer, value, error, ready in checks.check_json(record, text, self._checker):
            if ready is not None:
                problems.append(ready)
                continue
            assert error is not None
            parts = [p for p in pointer.split("/") if p]
            key = next((p for p in reversed(parts) if not p.isdigit()), "")
            index = next((int(p) for p in parts if p.isdigit()), None)
            line = self._line_with(f'"{key}"') if key else None
            problems.append(
                self._problem(
                    record,
                    pointer or "/",
                    value,
                    message=error.message,
                    accepted=checks.accepted_text(error),
                    line=line,
                    data=data,
                    index=index,
                )
            )
        return problems

    # --- CSV ------------------------------------------------------------------------------
    def _check_csv(self, record: str, text: str, data: dict[str, Any]) -> list[Problem]:
        layout = self.definition.csv
        assert layout is not None
        rows, faults = checks.read_csv_rows(text, layout, self._schema)
        problems = [
            Problem(record, where, None, value, checks.RULE, message, accepted)
            for where, value, message, accepted in faults
        ]
        expected = len(data["lines"]) if self.definition.per == "line" else 1
        if not faults and len(rows) != expected:
            problems.append(
                Problem(
                    record,
                    "rows",
                    None,
                    len(rows),
                    checks.RULE,
                    f"per = {self.definition.per!r} needs one data row per {self.definition.per}",
                    f"{expected} data row(s)",
                )
            )
        row_line = self._csv_row_line(layout.delimiter, len(layout.columns))
        for position, (number, row) in enumerate(rows):
            for pointer, value, error in checks.json_errors(row, self._checker):
                column = pointer.strip("/").split("/")[0]
                line = None
                if row_line is not None and column in layout.columns:
                    lineno, cells = row_line
                    line = (lineno, cells[layout.columns.index(column)].strip())
                index = position if self.definition.per == "line" else None
                problems.append(
                    self._problem(
                        record,
                        f"row {number}, column {column}",
                        value,
                        message=error.message,
                        accepted=checks.accepted_text(error),
                        line=line,
                        data=data,
                        index=index,
                    )
                )
        return problems

    def _csv_row_line(self, delimiter: str, count: int) -> tuple[int, list[str]] | None:
        """The template line that writes a data row: ``count`` cells, with expressions."""
        for number, text in enumerate(self._source_lines, start=1):
            cells = text.split(delimiter)
            if len(cells) == count and "{{" in text:
                return number, cells
        return None

    # --- XML ------------------------------------------------------------------------------
    def _check_xml(self, record: str, text: str, data: dict[str, Any]) -> list[Problem]:
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        try:
            root = etree.fromstring(text.encode("utf-8"), parser)
        except etree.XMLSyntaxError as exc:
            return [
                Problem(
                    record,
                    f"output line {exc.lineno}",
                    None,
                    None,
                    checks.RULE,
                    f"the template produced malformed XML: {exc.msg}",
                    "well-formed XML",
                )
            ]
        problems = []
        for error in self._checker.iter_errors(root):
            path = str(error.path or "/")
            element = error.elem
            value: object = element.text if element is not None else None
            tag = path.rstrip("/").split("/")[-1].split("[")[0].split("}")[-1]
            line = self._line_with(f"<{tag}") if tag else None
            position = _XML_INDEX.search(path)
            problems.append(
                self._problem(
                    record,
                    path,
                    value,
                    message=str(error.reason or error),
                    accepted=_xsd_accepts(error),
                    line=line,
                    data=data,
                    index=int(position.group(1)) - 1 if position else None,
                )
            )
        return problems

    # --- tracing --------------------------------------------------------------------------
    def _line_with(self, needle: str) -> tuple[int, str] | None:
        for number, text in enumerate(self._source_lines, start=1):
            if needle in text:
                # From the needle on: on a line with several fields the expression after it fed it.
                return number, text[text.index(needle) :].strip()
        return None

    def _problem(
        self,
        record: str,
        where: str,
        value: object,
        *,
        message: str,
        accepted: str,
        line: tuple[int, str] | None,
        data: dict[str, Any],
        index: int | None,
    ) -> Problem:
        source = expression_source(line[1], self._source_lines, index) if line else None
        source = source or trace_value(value, data, index)
        bt = bt_of(source) if source and not source.startswith("options.") else None
        notes = [message]
        if line is not None:
            notes.append(f"template {self.definition.template.name} line {line[0]}: {line[1]}")
        if source is not None:
            notes.append(f"fed by {source}" + (f" ({bt})" if bt else ""))
        return Problem(
            record,
            where,
            bt,
            value,
            checks.RULE,
            "; ".join(notes),
            accepted,
        )


def _xsd_accepts(error: Any) -> str:
    """What the XSD component that failed accepts (its type or content model), in brief."""
    validator = getattr(error, "validator", None)
    for component in (validator, getattr(validator, "type", None)):
        name = getattr(component, "prefixed_name", None) or getattr(component, "name", None)
        if name:
            return f"what {name} allows"
    return "see the XSD"


# The first repeated element in an XSD path (``/Upload/Line[2]/Net``): the line loop's position.
_XML_INDEX = re.compile(r"\[(\d+)\]")


def _envelope(envelope: Envelope | None) -> dict[str, Any] | None:
    if envelope is None:
        return None
    return {
        "interchange_ref": envelope.interchange_ref,
        "prepared_at": envelope.prepared_at.isoformat(),
        "message_refs": list(envelope.message_refs),
        "payload_id": envelope.payload_id or envelope.interchange_ref,
        "test": envelope.test,
    }


def load_format(path: Path | str) -> DeclarativeMapping:
    """The mapping defined by the TOML file at ``path``; ConfigError naming file and key if bad."""
    definition = read_definition(Path(path))
    attrs = {
        "name": definition.name,
        "syntax": definition.output,
        "rules": (),
        "definition": definition,
        "__doc__": definition.description or f"Declarative format {definition.name}",
    }
    cls = type(f"Declarative[{definition.name}]", (DeclarativeMapping,), attrs)
    mapping: DeclarativeMapping = cls()
    return mapping


def find_format(name: str, search_dirs: list[Path]) -> DeclarativeMapping | None:
    """The first ``<dir>/<name>.toml`` in ``search_dirs`` loaded, or None when there is none.

    The file's ``name`` must equal ``name`` (a copied file not renamed inside is a ConfigError).
    """
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    for folder in search_dirs:
        candidate = Path(folder) / f"{name}.toml"
        if candidate.is_file():
            mapping = load_format(candidate)
            if mapping.name != name:
                raise ConfigError(
                    f"{candidate}: 'name' = {mapping.name!r} but the file is named {name!r}.toml"
                )
            return mapping
    return None
