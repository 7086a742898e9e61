"""``igw``: the command line.

Exit codes: 0 all good, 1 some record or file failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from gateway import __version__
from gateway.envelope import default_envelope
from gateway.errors import ConfigError, GatewayError, ParseError
from gateway.profile import BuyerProfile
from gateway.registry import BUILTIN_MAPPINGS, declarative_names, mapping_names, resolve_mapping

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The formats `--to all` means: every outbound EN 16931 format of this release.
ALL_FORMATS = ("peppol-bis3", "xrechnung-ubl", "xrechnung-cii", "facturx-en16931")


class Progress:
    """A one-line progress meter on stderr for long batches (silent when quiet or not a TTY)."""

    def __init__(self, stream: TextIO, *, quiet: bool) -> None:
        self.stream = stream
        self.enabled = not quiet and stream.isatty()
        self.started = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, failed: int) -> None:
        """Redraw at most ten times a second."""
        now = time.perf_counter()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        self.stream.write(f"\r{done} records, {failed} rejected, {rate:,.0f}/s ")
        self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self.enabled:
            self.stream.write("\n")


def _formats(value: str) -> list[str]:
    names: list[str] = []
    for item in (v.strip() for v in value.split(",") if v.strip()):
        names.extend(ALL_FORMATS if item == "all" else (item,))
    for name in names:
        resolve_mapping(name)  # fails early with "did you mean"
    return names


def _options(pairs: Sequence[str] | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {pair!r}: expected KEY=VALUE")
        options[key.strip()] = value
    return options


def cmd_translate(args: argparse.Namespace) -> int:
    """ERP records in, one validated file per invoice and format out."""
    from gateway.intake import read_records
    from gateway.pipeline import translate

    mappings = [resolve_mapping(name) for name in _formats(args.to)]
    profile = BuyerProfile(name="cli", options=_options(args.option))
    out = Path(args.out)
    prepared_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sequence = itertools.count(1)
    progress = Progress(sys.stderr, quiet=args.quiet)
    written = rejected = 0
    records: set[str] = set()
    bad_records: set[str] = set()
    report: list[dict[str, object]] = []
    items = (
        (r.record, r.invoice, r.problems) for path in args.input for r in read_records(Path(path))
    )
    for outcome in translate(
        items,
        mappings,
        profile,
        envelopes=lambda: default_envelope(next(sequence), prepared_at),
        run_validation=not args.no_validate,
    ):
        records.add(outcome.record)
        if outcome.ok and outcome.document is not None:
            target = out / outcome.format / outcome.document.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(outcome.document.content)
            written += 1
        else:
            rejected += 1
            bad_records.add(outcome.record)
        for problem in outcome.problems:
            if not args.json and (problem.flag == "fatal" or args.verbose):
                print(f"{outcome.format}: {problem}", file=sys.stderr)
        if args.json:
            report.append(
                {
                    "record": outcome.record,
                    "format": outcome.format,
                    "ok": outcome.ok,
                    "file": None
                    if not outcome.ok or outcome.document is None
                    else str(out / outcome.format / outcome.document.filename),
                    "problems": [p.as_dict() for p in outcome.problems],
                }
            )
        progress.update(len(records), len(bad_records))
    progress.close()
    summary = (
        f"{len(records) - len(bad_records)} records ok, {len(bad_records)} rejected; "
        f"{written} documents written to {out}, {rejected} not written"
    )
    if args.json:
        json.dump({"outcomes": report, "summary": summary}, sys.stdout, indent=2)
        print()
    if not args.quiet:
        print(summary, file=sys.stderr)
    return EXIT_FAILED if bad_records else EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    """Any UBL, CII, EDIFACT INVOIC or cXML invoice in (auto-detected), canonical JSON out."""
    from gateway.detect import PARSER_FOR_SYNTAX, detect_syntax

    status = EXIT_OK
    for name in args.file:
        data = Path(name).read_bytes()
        try:
            mapping = resolve_mapping(PARSER_FOR_SYNTAX[detect_syntax(data)])
            invoice = mapping.parse(data)
        except ParseError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        sys.stdout.write(
            invoice.model_dump_json(indent=2, exclude_none=True, exclude_defaults=True)
        )
        sys.stdout.write("\n")
    return status


def cmd_validate(args: argparse.Namespace) -> int:
    """XSD + official schematron on each file; exit 0 only when all pass."""
    from gateway.validation import validate
    from gateway.validation.cli_support import exit_code, format_json, format_text

    reports = [validate(Path(name).read_bytes(), args.rules, name=name) for name in args.file]
    sys.stdout.write(format_json(reports) if args.json else format_text(reports))
    return EXIT_OK if exit_code(reports) == 0 else EXIT_FAILED


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the ERP record format as JSON Schema."""
    from gateway.intake import record_json_schema

    json.dump(record_json_schema(), sys.stdout, indent=2)
    print()
    return EXIT_OK


def cmd_formats(args: argparse.Namespace) -> int:
    """List every format alias with its syntax and rule sets."""
    for name in mapping_names():
        mapping = resolve_mapping(name)
        origin = (
            "built-in"
            if name in BUILTIN_MAPPINGS
            else "buyer format"
            if name in declarative_names()
            else "plug-in"
        )
        print(f"{name:18} {mapping.syntax:8} rules={','.join(mapping.rules):24} {origin}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="igw", description=__doc__)
    parser.add_argument("--version", action="version", version=f"igw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("translate", help="ERP records (JSON/CSV) -> e-invoices, validated")
    p.add_argument("input", nargs="+", help="JSON, JSON Lines or CSV export")
    p.add_argument(
        "--to",
        required=True,
        help=f"format alias(es), comma-separated, or 'all' ({', '.join(ALL_FORMATS)})",
    )
    p.add_argument("--out", required=True, help="output folder; files go to OUT/<format>/")
    p.add_argument(
        "--no-validate", action="store_true", help="skip XSD+schematron (rules still run)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    p.add_argument("-v", "--verbose", action="store_true", help="print warnings too")
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="buyer-profile option for the format (e.g. EDIFACT sender_id=...), repeatable",
    )
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("parse", help="UBL/CII/EDIFACT/cXML invoice -> canonical JSON")
    p.add_argument("file", nargs="+")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("validate", help="XSD + official schematron")
    p.add_argument("file", nargs="+")
    p.add_argument("--rules", help="en16931,peppol,xrechnung,facturx (default: by document)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the ERP record JSON Schema")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("formats", help="list format aliases")
    p.set_defaults(func=cmd_formats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``igw`` console command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except ConfigError as exc:
        print(f"igw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (GatewayError, OSError) as exc:
        print(f"igw: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return status


if __name__ == "__main__":
    sys.exit(main())
