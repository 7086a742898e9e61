"""``igw``: the command line.

Exit codes: 0 all good, 1 some record or file failed, 2 usage error, 3 `run --until-empty
--if-claimed exit` stopped while other workers still hold claims (the queue is not empty).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import itertools
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway import __version__
from gateway.cli.inputs import (
    JsonList,
    check_out_folder,
    input_problem,
    quiet_broken_pipe,
    reason,
    store_rules,
    write_output,
)
from gateway.cli.progress import Progress
from gateway.envelope import default_envelope
from gateway.errors import ConfigError, GatewayError, ParseError
from gateway.limits import DEFAULT_INPUT_MAX, InputTooLarge, format_size, parse_size, read_input
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.profiles.profile import BuyerProfile
from gateway.registry import BUILTIN_MAPPINGS, declarative_names, mapping_names, resolve_mapping
from gateway.shipped import shipped
from gateway.translation.parallel import add_jobs_option, add_progress_option

if TYPE_CHECKING:
    from gateway.delivery.submit import SubmitReport
    from gateway.masterdata.sellers import SellerSet
    from gateway.store import DeliveryRow, Store
    from gateway.tenants.config import TenantConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_NOT_EMPTY = 3  # gateway.delivery.worker.EXIT_NOT_EMPTY: run --until-empty --if-claimed exit
MASTER_DATA_RULE = "MASTER-DATA"

# The formats `--to all` means: every outbound EN 16931 format of this release.
ALL_FORMATS = ("peppol-bis3", "xrechnung-ubl", "xrechnung-cii", "facturx-en16931")


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


DEFAULT_SELLERS = "config/sellers"


def _sellers(args: argparse.Namespace) -> SellerSet:
    """The seller master data: ``--sellers`` / env IGW_SELLERS (must exist), else
    ./config/sellers when it exists, else none."""
    from gateway.masterdata.load import load_sellers

    named = getattr(args, "sellers", None) or os.environ.get("IGW_SELLERS")
    own = None if named else _tenant_folder(args, "sellers")
    return load_sellers(named or own or DEFAULT_SELLERS, required=bool(named))


def _translate_profile(
    args: argparse.Namespace, mappings: Sequence[Any] = ()
) -> tuple[BuyerProfile, ProfileSet | None]:
    """The buyer profile of ``igw translate`` (``--profile FILE``: its options, with
    ``--option`` on top) and the profiles whose ``[defaults]`` apply (that one file, or the
    folder ``--profiles DIR``, each invoice getting the defaults of the profile it routes to)."""
    from gateway.cli.options import check_option_keys
    from gateway.profiles.load import load_profile_set, resolve_options

    options = _options(args.option)
    check_option_keys(options, mappings)
    if args.profile and args.profiles is not None:
        raise ConfigError("--profile and --profiles: give one of them")
    if args.profiles is not None:
        return BuyerProfile(name="cli", options=options), load_profiles(args.profiles)
    if not args.profile:
        return BuyerProfile(name="cli", options=options), None
    buyers = load_profile_set(args.profile)
    (profile,) = buyers.profiles
    profile = profile.model_copy(update={"options": {**profile.options, **options}})
    return resolve_options(profile), buyers


def cmd_translate(args: argparse.Namespace) -> int:
    """ERP records or invoices in, one validated file per invoice and format out."""
    from gateway.cli.inputs import translate_inputs
    from gateway.cli.options import OPTION_HINT, is_option_error
    from gateway.intake.encoding import with_encoding
    from gateway.translation.parallel import translate_batch

    mappings = [resolve_mapping(name) for name in _formats(args.to)]
    sellers = _sellers(args)
    profile, buyers = _translate_profile(args, mappings)
    out = Path(args.out)
    check_out_folder(out)
    config_errors: set[tuple[str, str]] = set()
    prepared_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sequence = itertools.count(1)
    progress = Progress.for_args(args)
    written = rejected = 0
    records: set[str] = set()
    bad_records: set[str] = set()
    report: list[dict[str, object]] = []
    warned: set[tuple[str, str]] = set()
    for outcome in translate_batch(
        with_encoding(translate_inputs(args.input, args.max_size), args.encoding),
        mappings,
        profile,
        envelopes=lambda: default_envelope(next(sequence), prepared_at),
        run_validation=not args.no_validate,
        sellers=sellers,
        buyers=buyers,
        jobs=args.jobs,
        progress=progress,
    ):
        records.add(outcome.record)
        if outcome.ok and outcome.document is not None:
            write_output(out / outcome.format / outcome.document.filename, outcome.document.content)
            written += 1
        else:
            rejected += 1
            bad_records.add(outcome.record)
        for problem in outcome.problems:
            if is_option_error(problem):  # the run's configuration: the same for every record
                if (outcome.format, problem.message) not in config_errors:
                    config_errors.add((outcome.format, problem.message))
                    hint = f"{problem.message}; {OPTION_HINT}"
                    print(f"igw: {outcome.format}: {hint}", file=sys.stderr)
            elif args.json:
                continue
            elif problem.rule == MASTER_DATA_RULE and problem.flag == "warning":
                # the same for every format: said once per record, with or without -v
                if (outcome.record, str(problem)) not in warned:
                    warned.add((outcome.record, str(problem)))
                    print(f"warning: {problem}", file=sys.stderr)
            elif problem.flag == "fatal" or args.verbose:
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
    if config_errors:  # the run's configuration, not the records: a usage error
        return EXIT_USAGE
    return EXIT_FAILED if bad_records else EXIT_OK


def cmd_parse(args: argparse.Namespace) -> int:
    """Any UBL, CII, EDIFACT INVOIC or cXML invoice in (auto-detected), canonical JSON out;
    with ``--sellers`` the seller's master data filled in (``provenance`` says which terms)."""
    from gateway.detect import PARSER_FOR_SYNTAX, detect_syntax
    from gateway.masterdata.apply import fill_from_sellers
    from gateway.masterdata.load import load_sellers

    sellers = load_sellers(args.sellers) if args.sellers else None
    status = EXIT_OK
    failed = 0
    output = JsonList(sys.stdout.write, array=len(args.file) > 1)  # one JSON text that reads back
    for name in args.file:
        try:
            data = read_input(name, args.max_size)
            mapping = resolve_mapping(PARSER_FOR_SYNTAX[detect_syntax(data)])
            invoice = mapping.parse(data)
        except (ParseError, InputTooLarge, OSError) as exc:
            text = f"cannot read: {reason(exc)}" if isinstance(exc, OSError) else exc
            print(exc if isinstance(exc, InputTooLarge) else f"{name}: {text}", file=sys.stderr)
            status, failed = EXIT_FAILED, failed + 1
            continue
        if sellers is not None:
            invoice, problems = fill_from_sellers(invoice, sellers, record=name)
            for problem in problems:
                print(f"{problem.flag}: {problem}", file=sys.stderr)
            if any(p.flag == "fatal" for p in problems):
                status, failed = EXIT_FAILED, failed + 1
                continue
        output.add(invoice.model_dump_json(indent=2, exclude_none=True, exclude_defaults=True))
    output.close()
    if len(args.file) > 1:
        print(f"igw parse: {len(args.file) - failed} parsed, {failed} failed", file=sys.stderr)
    return status


def cmd_validate(args: argparse.Namespace) -> int:
    """XSD + official schematron on each file, rule sets by the document's scenario or --rules;
    exit 0 only when all pass, 2 for a usage error (a rule set the syntax does not have)."""
    from concurrent.futures import Future

    from gateway.intake.encoding import check_encoding, recode
    from gateway.translation.parallel import FileValidator
    from gateway.validation import ValidationReport, rule_names
    from gateway.validation.buyer_format import check_buyer_format
    from gateway.validation.cli_support import exit_code, format_json, format_text
    from gateway.validation.scenarios import format_scenarios

    if args.scenarios:
        sys.stdout.write(format_scenarios())
        return EXIT_OK
    if not args.file:
        print("igw validate: name at least one FILE (or --scenarios)", file=sys.stderr)
        return EXIT_USAGE
    if args.format and args.rules:
        print(
            "igw validate: --format (a buyer format's schema) and --rules (official rule sets) "
            "exclude each other",
            file=sys.stderr,
        )
        return EXIT_USAGE
    rules = rule_names(args.rules) if args.rules else None
    if args.encoding:
        check_encoding(args.encoding)
    progress = Progress.for_args(args)
    checker = FileValidator(args.jobs, len(args.file), progress)  # --jobs: in processes
    reports: list[ValidationReport | Future[ValidationReport]] = []
    for name in args.file:
        try:
            content = read_input(name, args.max_size)
        except InputTooLarge as exc:  # refused unread, reported; the other files go on
            reports.append(ValidationReport(name, name, "", (), [exc.problem()], ["not read"]))
            continue
        except OSError as exc:  # missing or unreadable: reported, the other files go on
            problem = input_problem(name, f"{name}: cannot read: {reason(exc)}")
            reports.append(ValidationReport(name, name, "", (), [problem], ["not read"]))
            continue
        content, undecodable = recode(content, args.encoding, name)  # CSV/JSON from --encoding
        if undecodable is not None:
            reports.append(ValidationReport(name, name, "", (), [undecodable], ["not read"]))
            continue
        if args.format:
            reports.append(check_buyer_format(content, args.format, name))
        else:
            reports.append(checker.validate(content, rules, name=name))
    done = checker.results(reports)
    progress.close()
    sys.stdout.write(format_json(done) if args.json else format_text(done))
    return EXIT_OK if exit_code(done) == 0 else EXIT_FAILED


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


# -- delivery engine: submit, run, status, timeline, resend, cancel, demo -------------------------

DEFAULT_STORE_URL = "sqlite:///var/gateway.db"
DEFAULT_PROFILES = "config/buyers"
DEMO_PROFILES = shipped("config/demo/buyers")
DEMO_INPUTS = (shipped("examples/erp-export.json"), shipped("examples/large-1000-lines.json"))
DEMO_SECRET_ENV = "IGW_DEMO_CXML_SECRET"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _store_url(args: argparse.Namespace) -> str:
    return str(args.store or os.environ.get("IGW_STORE_URL") or DEFAULT_STORE_URL)


def _tenant(args: argparse.Namespace) -> str:
    """``--tenant`` / env IGW_TENANT / the default tenant (checked: ConfigError, exit 2)."""
    from gateway.tenants import DEFAULT_TENANT, check_tenant_id

    given = getattr(args, "tenant", None) or os.environ.get("IGW_TENANT") or DEFAULT_TENANT
    return check_tenant_id(given)


def _tenant_folder(args: argparse.Namespace, kind: str) -> str | None:
    """A tenant other than the default one keeps its ``kind`` folder (buyers, sellers) below
    config/tenants/<tenant>/; None for the default tenant (its folders are the usual ones)."""
    from gateway.tenants import DEFAULT_TENANT
    from gateway.tenants.config import tenant_config

    tenant = _tenant(args)
    if tenant == DEFAULT_TENANT:
        return None
    config = tenant_config(tenant)
    return str(config.buyers_dir if kind == "buyers" else config.sellers_dir)


def _profiles_folder(args: argparse.Namespace) -> str:
    if args.profiles is not None:  # given, even empty: never another folder instead
        return str(args.profiles)
    return str(os.environ.get("IGW_PROFILES") or _tenant_folder(args, "buyers") or DEFAULT_PROFILES)


def _open_store(url: str, *, create: bool = True, tenant: str | None = None) -> Store:
    """The store at ``url``, migrated, scoped to ``tenant`` (default: the default tenant),
    which must exist (:class:`~gateway.tenants.UnknownTenant`, exit 2). ``create=False``
    (commands that only read or change what is stored) creates nothing: a missing store is a
    one-line error, exit 2."""
    from gateway.store import Store

    store = Store.open(url, create=create)
    try:
        if create:
            store.ping()  # unreachable: one line before Alembic's own errors
        store.migrate()
        if tenant is not None:
            store = store.require_tenant(tenant)
    except BaseException:
        store.close()
        raise
    return store


def _print_submit(report: SubmitReport, *, as_json: bool) -> None:
    if as_json:
        json.dump(
            {"outcomes": [o.as_dict() for o in report.outcomes], "summary": report.summary()},
            sys.stdout,
            indent=2,
        )
        print()
        return
    for o in report.outcomes:
        if o.status == "stored":
            note = f" ({o.message})" if o.message else ""
            print(f"{o.record}: stored for {o.buyer} as {o.format} via {o.channel}{note}")
            for problem in o.problems:
                if problem.rule == MASTER_DATA_RULE:
                    print(f"  warning: {problem}", file=sys.stderr)
        elif o.status == "duplicate":
            print(f"{o.record}: duplicate — {o.message}")
        elif o.status == "refused":
            print(f"{o.record}: refused — {o.message}", file=sys.stderr)
        else:
            print(f"{o.record}: rejected", file=sys.stderr)
            for problem in o.problems:
                if problem.flag == "fatal":
                    print(f"  {problem}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)


def _submit_paths(
    paths: Sequence[str | Path],
    store: Store,
    profiles: ProfileSet,
    *,
    validate: bool,
    sellers: SellerSet | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> SubmitReport:
    from gateway.cli.inputs import each_input, unread_record
    from gateway.delivery.submit import submit
    from gateway.intake import RecordResult, read_records
    from gateway.masterdata.load import NO_SELLERS

    records: Iterable[RecordResult] = each_input(
        paths, lambda path: read_records(Path(path), encoding=encoding), unread_record
    )
    if progress is not None and progress.enabled:
        records = progress.over(records)  # read first: the total is the number of records
    return submit(
        records,
        store,
        profiles,
        now=_now(),
        run_validation=validate,
        sellers=NO_SELLERS if sellers is None else sellers,
    )


def cmd_submit(args: argparse.Namespace) -> int:
    """ERP records in -> master data, routed, rendered, validated, stored with a queued
    delivery."""
    profiles = load_profiles(_profiles_folder(args))  # start-up validation comes first
    sellers = _sellers(args)
    store = _open_store(_store_url(args), tenant=_tenant(args))
    try:
        progress = Progress.for_args(args)
        report = _submit_paths(
            args.input,
            store,
            profiles,
            validate=not args.no_validate,
            sellers=sellers,
            progress=progress,
            encoding=args.encoding,
        )
        progress.close()
    finally:
        store.close()
    _print_submit(report, as_json=args.json)
    return EXIT_OK if report.ok else EXIT_FAILED


def _run_worker(
    store_url: str,
    profiles_folder: str,
    *,
    until_empty: bool,
    worker_id: str | None,
    batch: int | None = None,
    concurrency: int | None = None,
    if_claimed: str = "wait",
    poll_interval: float | None = None,
    lease: float | None = None,
    tenant: str | None = None,
) -> object:
    from gateway.delivery.worker import run_worker

    tuning: dict[str, Any] = {} if if_claimed == "wait" else {"if_claimed": if_claimed}
    given = {"batch_size": batch, "concurrency": concurrency, "poll_interval": poll_interval}
    tuning.update({k: v for k, v in {**given, "lease_seconds": lease}.items() if v is not None})
    if tenant is not None:
        tuning["tenant"] = tenant
    return run_worker(
        store_url, profiles_folder, until_empty=until_empty, worker_id=worker_id, **tuning
    )


def _run_all_tenants(args: argparse.Namespace) -> int:
    """``igw run --all-tenants``: a worker per tenant of the store that has buyer profiles."""
    from gateway.delivery.tenants import run_tenant_workers
    from gateway.logs import summary
    from gateway.tenants.directory import TenantDirectory

    if args.profiles is not None or args.tenant is not None:
        raise ConfigError(
            "--all-tenants: each tenant's buyer profiles come from its own folder; accepted: "
            "--all-tenants without --profiles and --tenant"
        )
    store = _open_store(_store_url(args))
    try:
        tenants = [row.id for row in store.tenants()]
    finally:
        store.close()
    directory = TenantDirectory(default=_default_tenant_config(args))
    tuning: dict[str, Any] = {"until_empty": args.until_empty, "worker_id": args.worker_id}
    if args.if_claimed != "wait":
        tuning["if_claimed"] = args.if_claimed
    given = {
        "batch_size": args.batch,
        "concurrency": args.concurrency,
        "poll_interval": args.poll_interval,
        "lease_seconds": args.lease,
    }
    tuning.update({k: v for k, v in given.items() if v is not None})
    try:
        result = run_tenant_workers(_store_url(args), tenants, directory, **tuning)
    finally:
        _checkpoint(_store_url(args))
    summary("gateway.delivery.worker", f"igw run: {result}", stats=result.as_dict())
    return EXIT_NOT_EMPTY if result.still_claimed else EXIT_OK


def _default_tenant_config(args: argparse.Namespace) -> TenantConfig:
    """The default tenant's folders as this command sees them (settings, env, defaults)."""
    from gateway.tenants import DEFAULT_TENANT
    from gateway.tenants.config import TenantConfig

    return TenantConfig(
        DEFAULT_TENANT,
        Path(os.environ.get("IGW_PROFILES") or DEFAULT_PROFILES),
        Path(getattr(args, "sellers", None) or os.environ.get("IGW_SELLERS") or DEFAULT_SELLERS),
        Path(getattr(args, "as2_config", None) or "config/as2"),
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Run the delivery worker (until the queue is empty with --until-empty)."""
    folder = _profiles_folder(args)
    profiles = load_profiles(folder)
    from gateway.as2.config import startup_report

    for warning in startup_report(profiles, args.as2_config):  # a log line: --log-format json
        logging.getLogger("gateway.delivery.worker").warning("igw run: warning: %s", warning)
    for name in ("batch", "concurrency", "poll_interval", "lease"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            accepted = "a whole number >= 1" if name in ("batch", "concurrency") else "seconds > 0"
            flag = name.replace("_", "-")
            print(f"igw: --{flag} {value:g}: accepted: {accepted}", file=sys.stderr)
            return EXIT_USAGE
    if args.all_tenants:
        return _run_all_tenants(args)
    _open_store(_store_url(args), tenant=_tenant(args)).close()  # the tenant must exist
    try:
        result = _run_worker(
            _store_url(args),
            folder,
            tenant=_tenant(args),
            until_empty=args.until_empty,
            worker_id=args.worker_id,
            batch=args.batch,
            concurrency=args.concurrency,
            if_claimed=args.if_claimed,
            poll_interval=args.poll_interval,
            lease=args.lease,
        )
    finally:
        _checkpoint(_store_url(args))
    if result is not None:
        from gateway.logs import summary

        stats: dict[str, float] = getattr(result, "as_dict", dict)()
        summary("gateway.delivery.worker", f"igw run: {result}", stats=stats)
    return EXIT_NOT_EMPTY if getattr(result, "still_claimed", 0) else EXIT_OK


def _checkpoint(url: str) -> None:
    """Checkpoint a SQLite store after the worker stopped (one self-contained .db file)."""
    from gateway.store.engine import checkpoint, make_engine

    engine = make_engine(url)
    try:
        checkpoint(engine)
    finally:
        engine.dispose()


def cmd_status(args: argparse.Namespace) -> int:
    """The delivery status table, filtered by buyer, state, age, overdue."""
    from gateway.delivery.status import parse_age, status_rows, status_table
    from gateway.store import DeliveryState

    states = None
    if args.state:
        names = [s.strip().upper() for s in args.state.split(",") if s.strip()]
        known = [s.value for s in DeliveryState]
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise ConfigError(
                    f"--state {name}: unknown state; accepted: {', '.join(known)}{hint}"
                )
        states = [DeliveryState(n) for n in names]
    now = _now()
    created_before = now - parse_age(args.older_than) if args.older_than else None
    store = _open_store(_store_url(args), create=False, tenant=_tenant(args))
    try:
        rows = store.deliveries(
            buyer=args.buyer,
            states=states,
            created_before=created_before,
            overdue_at=now if args.overdue else None,
        )
    finally:
        store.close()
    if args.json:
        json.dump(status_rows(rows), sys.stdout, indent=2)
        print()
    else:
        sys.stdout.write(status_table(rows))
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    """Every event of one invoice, with its evidence."""
    from gateway.delivery.status import timeline_rows, timeline_text

    store = _open_store(_store_url(args), create=False, tenant=_tenant(args))
    try:
        events = store.timeline(args.invoice, args.seller)
    finally:
        store.close()
    if not events:
        print(f"igw: invoice {args.invoice}: not in the store", file=sys.stderr)
        return EXIT_FAILED
    sellers = sorted({e.seller_key for e in events})
    if len(sellers) > 1:
        print(
            f"igw: invoice {args.invoice} exists for several sellers ({', '.join(sellers)}); "
            "showing all, pick one with --seller",
            file=sys.stderr,
        )
    if args.json:
        json.dump(timeline_rows(events, evidence=args.evidence), sys.stdout, indent=2)
        print()
    else:
        sys.stdout.write(timeline_text(events, evidence=args.evidence))
    return EXIT_OK


def _targets(store: Store, target: str) -> list[DeliveryRow]:
    """Deliveries named by id, else every delivery of the invoice with that number."""
    if target.isdigit():
        return [store.delivery(int(target))]
    ids = sorted({e.delivery_id for e in store.timeline(target) if e.delivery_id is not None})
    if not ids:
        raise UnknownTarget(f"{target}: no delivery with that id and no invoice with that number")
    return store.deliveries(ids=ids)


class UnknownTarget(GatewayError):
    """``igw resend``/``cancel`` named neither a delivery id nor a stored invoice number."""


def cmd_resend(args: argparse.Namespace) -> int:
    """Queue a delivery again, due now, under the SAME idempotency key.

    Without ``--force`` (FAILED, CANCELLED, SENT) the transmission stays unless the partner
    refused the last one: a re-send after transport failures carries the same message id (a
    partner that holds it answers it as a duplicate), one after an error MDN or a refusal a new
    one. ``--force`` (also DELIVERED) always starts a new transmission with a new message id:
    the partner gets the document again as a new message.
    """
    from gateway.store import IllegalTransition
    from gateway.store.states import FORCED_RESEND_FROM

    store = _open_store(_store_url(args), create=False, tenant=_tenant(args))
    status = EXIT_OK
    try:
        for row in _targets(store, args.target):
            try:
                new, fresh = store.resend(
                    row.id, now=_now(), force=args.force, reason="re-queued by operator"
                )
            except IllegalTransition as exc:
                hint = (
                    f"; a forced re-send leaves {', '.join(sorted(FORCED_RESEND_FROM))}"
                    if args.force
                    else "; --force also re-sends DELIVERED (a new transmission)"
                    if exc.old == "DELIVERED"
                    else ""
                )
                print(f"igw: {exc}{hint}", file=sys.stderr)
                status = EXIT_FAILED
                continue
            how = (
                f"transmission {new.transmission} (a new message id)"
                if fresh
                else f"transmission {new.transmission}"
                + (" (the same message id)" if new.message_id else "")
            )
            print(
                f"delivery {row.id} ({row.invoice_number} -> {row.buyer}) queued again, "
                f"key {row.idempotency_key}, {how}"
            )
    finally:
        store.close()
    return status


def cmd_cancel(args: argparse.Namespace) -> int:
    """Stop a delivery: CANCELLED with a ``cancelled`` event (``igw resend`` re-queues it)."""
    from gateway.store import DeliveryState, IllegalTransition

    store = _open_store(_store_url(args), create=False, tenant=_tenant(args))
    try:
        row = store.delivery(int(args.delivery))
        try:
            store.mark(
                row.id,
                DeliveryState.CANCELLED,
                now=_now(),
                kind="cancelled",
                level="warning",
                detail=f"cancelled by operator in state {row.state.value}",
            )
        except IllegalTransition as exc:
            print(f"igw: {exc}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        store.close()
    print(f"delivery {row.id} ({row.invoice_number} -> {row.buyer}) cancelled: CANCELLED")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: submit the examples and deliver them to real loopback peers (AS2, SFTP,
    portal API, cXML, SMTP), collect the proofs, print the status table (:mod:`gateway.demo`).
    ``--offline`` (or ``--profiles``) delivers with ``file`` connectors into ./var/outbox/."""
    if not (args.offline or args.profiles):
        return _network_demo(args)
    from gateway.delivery.status import status_table

    os.environ.setdefault(DEMO_SECRET_ENV, "demo-shared-secret")
    folder = str(args.profiles or DEMO_PROFILES)
    profiles = load_profiles(folder)
    url = _store_url(args)
    store = _open_store(url)
    try:
        report = _submit_paths(
            args.input or DEMO_INPUTS, store, profiles, validate=not args.no_validate
        )
        print(report.summary(), file=sys.stderr)
        for o in report.outcomes:
            if o.status in ("rejected", "refused"):
                print(f"{o.record}: {o.status} {o.message}", file=sys.stderr)
                for problem in o.problems:
                    if problem.flag == "fatal":
                        print(f"  {problem}", file=sys.stderr)
        result = _run_worker(url, folder, until_empty=True, worker_id=None)
        if result is not None:
            print(result, file=sys.stderr)
        rows = store.deliveries()
    finally:
        store.close()
    sys.stdout.write(status_table(rows))
    return EXIT_OK if report.ok else EXIT_FAILED


def _network_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_network_demo

    result = run_network_demo(
        args.input or DEMO_INPUTS, _store_url(args), validate=not args.no_validate
    )
    report = result.report
    print(report.summary(), file=sys.stderr)
    for o in report.outcomes:
        if o.status in ("rejected", "refused"):
            print(f"{o.record}: {o.status} {o.message}", file=sys.stderr)
    print(
        f"peers: buyers' AS2 hub received {result.hub_received} message(s), parsed "
        f"{result.hub_parsed}; SFTP buyer answered {result.contrls} interchange(s) with a CONTRL; "
        f"portal AP team accepted {result.accepted} invoice(s); e-mail buyer's mail server "
        f"received {result.mailed} message(s) ({result.mailbox} in var/demo/mailbox); polling "
        f"recorded {result.polled} item(s)",
        file=sys.stderr,
    )
    for row in result.waiting:
        print(f"{row.invoice_number}: asynchronous MDN still outstanding", file=sys.stderr)
    sys.stdout.write(result.table())
    return EXIT_OK if report.ok and not result.waiting else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="igw", description=__doc__)
    parser.add_argument("--version", action="version", version=f"igw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "translate", help="ERP records (JSON/CSV) or invoices (UBL/CII/EDIFACT/cXML) -> e-invoices"
    )
    p.add_argument(
        "input", nargs="+", help="JSON, JSON Lines or CSV export, or UBL/CII/EDIFACT/cXML invoices"
    )
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
    p.add_argument(
        "--profile",
        metavar="FILE",
        help="buyer profile (TOML): its options apply, its [defaults] (BT-49, BT-10, ...) to "
        "the invoices of the buyer it names",
    )
    p.add_argument(
        "--profiles",
        metavar="DIR",
        help="buyer profiles: each invoice gets the [defaults] of the profile it routes to",
    )
    _sellers_option(p)
    _max_size_option(p)
    add_jobs_option(p)
    add_progress_option(p)
    _encoding_option(p)
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("parse", help="UBL/CII/EDIFACT/cXML invoice -> canonical JSON")
    p.add_argument("file", nargs="+")
    p.add_argument(
        "--sellers",
        metavar="DIR",
        help="fill the seller's master data from DIR (default: the document as it is)",
    )
    _max_size_option(p)
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser(
        "validate",
        help="XSD + official schematron, rule sets chosen by the document's scenario (BT-24)",
    )
    p.add_argument("file", nargs="*")
    p.add_argument(
        "--rules",
        help="en16931,peppol,xrechnung,facturx instead of the document's scenario "
        "(default: by document, see --scenarios); a set the syntax lacks is a usage error",
    )
    p.add_argument(
        "--format",
        metavar="BUYER_FORMAT",
        help="check JSON/CSV/XML files against this buyer format's schema (config/formats)",
    )
    p.add_argument(
        "--scenarios", action="store_true", help="list the validation scenarios and exit"
    )
    p.add_argument("--json", action="store_true")
    _max_size_option(p)
    add_jobs_option(p)
    add_progress_option(p)
    _encoding_option(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the ERP record JSON Schema")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("formats", help="list format aliases")
    p.set_defaults(func=cmd_formats)
    _add_engine_commands(sub)
    from gateway.settings import add_config_command, add_global_options

    add_config_command(sub)
    add_global_options(parser)
    return parser


def _max_size(value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _max_size_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-size",
        type=_max_size,
        default=DEFAULT_INPUT_MAX,
        metavar="SIZE",
        help=f"refuse input files larger than SIZE unread (default {format_size(DEFAULT_INPUT_MAX)}"
        "; e.g. 500MB, 2GiB)",
    )


def _encoding_name(name: str) -> str:
    """``--encoding``'s value, checked when the command line is read (a usage error, exit 2)."""
    from gateway.errors import InputError
    from gateway.intake.encoding import check_encoding

    try:
        check_encoding(name)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--encoding {name!r}: ")) from None
    return name


def _encoding_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--encoding",
        metavar="NAME",
        type=_encoding_name,
        help="text encoding of CSV/JSON exports (default utf-8, with or without BOM; Excel on "
        "Windows writes cp1252)",
    )


def _sellers_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sellers",
        metavar="DIR",
        help=f"seller master data folder (env IGW_SELLERS; default {DEFAULT_SELLERS} when it "
        "exists, else none)",
    )


def _store_options(p: argparse.ArgumentParser, *, profiles: bool) -> None:
    from gateway.cli.tenants import tenant_option

    p.add_argument("--store", help=f"store URL (env IGW_STORE_URL; default {DEFAULT_STORE_URL})")
    tenant_option(p)
    if profiles:
        p.add_argument(
            "--profiles",
            help=f"buyer profile folder (env IGW_PROFILES; default {DEFAULT_PROFILES})",
        )


def _add_engine_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("submit", help="ERP records -> routed, rendered, stored, queued")
    p.add_argument("input", nargs="+", help="JSON, JSON Lines or CSV export")
    _store_options(p, profiles=True)
    _sellers_option(p)
    p.add_argument("--no-validate", action="store_true", help="skip XSD+schematron")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    add_progress_option(p)
    _encoding_option(p)
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("run", help="run the delivery worker")
    _store_options(p, profiles=True)
    p.add_argument("--until-empty", action="store_true", help="stop when nothing is due")
    p.add_argument(
        "--all-tenants",
        action="store_true",
        help="one worker per tenant of the store, each with its own buyer profiles "
        "(config/tenants/<id>/buyers; the default tenant: --profiles' default)",
    )
    p.add_argument(
        "--worker-id",
        help="this worker's id in claims (default: host:pid:start:boot:pidns, which lets a "
        "worker on the same machine take over the claims of a dead one)",
    )
    p.add_argument(
        "--if-claimed",
        choices=("wait", "exit"),
        default="wait",
        help="--until-empty while other live workers hold claims: wait for them (default) or "
        "exit with status 3",
    )
    p.add_argument(
        "--batch", type=int, default=None, help="deliveries claimed per store round trip (50)"
    )
    p.add_argument("--concurrency", type=int, default=None, help="sends in flight per worker (8)")
    from gateway.settings import duration_arg

    p.add_argument(
        "--poll-interval", type=duration_arg, default=None, help="wait between polls when idle (1s)"
    )
    p.add_argument("--lease", type=duration_arg, default=None, help="claims expire after (300s)")
    p.add_argument(
        "--as2-config",
        default="config/as2",
        help="the AS2 folder igw serve uses: as2 channels it does not know are reported",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="delivery status table")
    _store_options(p, profiles=False)
    p.add_argument("--buyer", help="buyer profile name")
    p.add_argument("--state", help="state(s), comma-separated (QUEUED, SENT, ..., FAILED)")
    p.add_argument("--older-than", metavar="AGE", help="created more than AGE ago (2h, 3d)")
    p.add_argument("--overdue", action="store_true", help="awaiting proof past its deadline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("timeline", help="every event of one invoice, with evidence")
    p.add_argument("invoice", help="invoice number (BT-1)")
    _store_options(p, profiles=False)
    p.add_argument("--seller", help="seller key (VAT id) when several sellers use the number")
    p.add_argument("--evidence", action="store_true", help="print the raw evidence")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser(
        "resend", help="queue a delivery again (same key; --force: a new transmission)"
    )
    p.add_argument("target", metavar="DELIVERY|INVOICE")
    p.add_argument(
        "--force",
        action="store_true",
        help="also from DELIVERED; always a new transmission with a new message id",
    )
    _store_options(p, profiles=False)
    p.set_defaults(func=cmd_resend)

    p = sub.add_parser("cancel", help="stop a delivery (CANCELLED, 'cancelled' event)")
    p.add_argument("delivery", type=int, metavar="DELIVERY")
    _store_options(p, profiles=False)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser(
        "demo",
        help="submit the examples, deliver to loopback AS2/SFTP/portal/SMTP peers, show proof",
    )
    p.add_argument("input", nargs="*", help="ERP exports (default: the examples)")
    _store_options(p, profiles=True)
    p.add_argument("--no-validate", action="store_true", help="skip XSD+schematron")
    p.add_argument(
        "--offline", action="store_true", help="file connectors into ./var/outbox/ instead"
    )
    p.set_defaults(func=cmd_demo)

    from gateway.as2.identity import add_as2_command
    from gateway.cli.inbound import add_inbound_command
    from gateway.cli.keys import add_keys_commands
    from gateway.cli.tenants import add_tenants_command
    from gateway.cli.webhooks import add_webhooks_command
    from gateway.web.serve import add_serve_command

    add_serve_command(sub)
    add_inbound_command(sub)
    add_webhooks_command(sub)
    add_as2_command(sub)
    add_tenants_command(sub)
    add_keys_commands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``igw`` console command."""
    return quiet_broken_pipe(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    from gateway.settings import SettingsError, parse_args

    parser = build_parser()
    try:
        args = parse_args(parser, argv)  # settings file, IGW_* and logging come first
    except SettingsError as exc:
        print(f"igw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with store_rules(args.command, _store_url(args) if hasattr(args, "store") else None):
            status: int = args.func(args)
    except ConfigError as exc:
        print(f"igw: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except (GatewayError, OSError) as exc:
        print(f"igw: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return status


if __name__ == "__main__":
    sys.exit(main())
