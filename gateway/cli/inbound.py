"""``igw inbound``: what partners sent us — stored inbound messages and refused requests.

Wired into the CLI with one line in ``gateway.cli.main`` (``_add_engine_commands``)::

    add_inbound_command(sub)

A stored message is named by its number (``12``), a refusal by ``R`` and its number (``R3``)::

    igw inbound                              # the newest 50, oldest first
    igw inbound --state REFUSED --partner acme --json
    igw inbound --show R3                    # reason, the error MDN we sent, the request headers
    igw inbound --show R3 --raw r3.bin       # the raw request as kept (header lines, body)
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import difflib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.cli.tenants import tenant_option
from gateway.store import Store
from gateway.store.inbound import (
    REFUSED,
    STATES,
    InboundRow,
    RefusalRow,
    get_inbound,
    get_refusal,
    list_inbound,
    list_refusals,
)
from gateway.store.mdn_outbox import list_async_mdns
from gateway.tenants import DEFAULT_TENANT, check_tenant_id

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_inbound_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``inbound`` to the ``igw`` subcommands (``subparsers`` from ``add_subparsers``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "inbound",
        help="inbound messages and refused requests (state, partner, Message-ID, reason, MDN)",
    )
    p.add_argument("--store", help="store URL (env IGW_STORE_URL; default as the other commands)")
    tenant_option(p)
    p.add_argument("--state", help="state(s), comma-separated: " + ", ".join(STATES))
    p.add_argument("--partner", help="partner name (or, for refusals, the AS2-From as sent)")
    p.add_argument("--limit", type=int, default=50, help="the newest this many (default 50)")
    p.add_argument("--show", metavar="REF", help="one message (12) or refusal (R3) in full")
    p.add_argument("--raw", metavar="FILE", help="with --show: write the raw request/payload")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=cmd_inbound)
    return p


@dataclass(frozen=True)
class Listed:
    """One line of the listing: a stored message or a refusal."""

    ref: str
    received_at: dt.datetime
    state: str
    partner: str
    message_id: str | None
    reason: str | None
    detail: str
    invoice_number: str | None
    answer_kind: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "ref": self.ref,
            "received_at": self.received_at.isoformat(),
            "state": self.state,
            "partner": self.partner,
            "message_id": self.message_id,
            "reason": self.reason,
            "detail": self.detail,
            "invoice_number": self.invoice_number,
            "answer": self.answer_kind,
        }


def _from_message(row: InboundRow) -> Listed:
    return Listed(
        ref=str(row.id),
        received_at=row.received_at,
        state=row.state,
        partner=row.partner,
        message_id=row.message_id,
        reason=None,
        detail=row.detail,
        invoice_number=row.invoice_number,
        answer_kind="stored" if row.answer is not None else None,
    )


def _from_refusal(row: RefusalRow) -> Listed:
    return Listed(
        ref=f"R{row.id}",
        received_at=row.received_at,
        state=REFUSED,
        partner=row.partner,
        message_id=row.message_id,
        reason=row.reason,
        detail=row.detail,
        invoice_number=None,
        answer_kind=row.answer_kind,
    )


def inbound_listing(
    store: Store,
    *,
    states: set[str] | None = None,
    partner: str | None = None,
    limit: int = 50,
) -> list[Listed]:
    """The newest ``limit`` stored messages and refusals (oldest first), filtered by state and
    partner."""
    found: list[Listed] = []
    message_states = None if states is None else states - {REFUSED}
    if message_states is None or message_states:
        for state in sorted(message_states) if message_states else [None]:
            rows = list_inbound(store, partner=partner, state=state, limit=limit, newest=True)
            found.extend(_from_message(row) for row in rows)
    if states is None or REFUSED in states:
        refusals = list_refusals(store, partner=partner, limit=limit, newest=True)
        found.extend(_from_refusal(row) for row in refusals)
    found.sort(key=lambda item: (item.received_at, item.ref))
    return found[-limit:] if limit else found


def _states(value: str | None) -> set[str] | None:
    if not value:
        return None
    names = {s.strip().upper() for s in value.split(",") if s.strip()}
    for name in sorted(names):
        if name not in STATES:
            close = difflib.get_close_matches(name, STATES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ValueError(f"--state {name}: unknown{hint} (accepted: {', '.join(STATES)})")
    return names


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 90 else line[:87] + "..."


def _print_table(items: list[Listed]) -> None:
    if not items:
        print("no inbound messages", file=sys.stderr)
        return
    print(f"{'REF':<7} {'RECEIVED (UTC)':<20} {'STATE':<10} {'PARTNER':<16} MESSAGE-ID / WHY")
    for item in items:
        when = item.received_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        why = f"{item.reason}: {_first_line(item.detail)}" if item.reason else ""
        if not why:
            why = f"invoice {item.invoice_number}" if item.invoice_number else ""
            why = why or _first_line(item.detail)
        print(
            f"{item.ref:<7} {when:<20} {item.state:<10} {item.partner or '-':<16} "
            f"<{item.message_id or '-'}>"
        )
        if why:
            print(f"{'':<7} {why}")


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "replace")


def _outbox(store: Store, partner: str, message_id: str | None) -> list[str]:
    """What became of the async MDN(s) owed for ``message_id`` (the outbox rows)."""
    if not message_id:
        return []
    rows = list_async_mdns(store, message_id=message_id)
    return [
        f"{row.state} after {row.attempts} attempt(s) to {row.url}"
        + (f" (delivered {row.delivered_at.isoformat()})" if row.delivered_at else "")
        + (f"; last error: {row.last_error}" if row.last_error else "")
        for row in rows
        if row.partner == partner
    ]


def _show_refusal(row: RefusalRow, *, as_json: bool, outbox: list[str]) -> None:
    head, _, body = row.request.partition(b"\r\n\r\n")
    if as_json:
        out = {
            **_from_refusal(row).as_dict(),
            "sender": row.sender,
            "recipient": row.recipient,
            "http_status": row.http_status,
            "answer_text": _text(row.answer),
            "request_size": row.request_size,
            "request_kept": len(row.request),
            "request_base64": base64.b64encode(row.request).decode("ascii"),
            "async_mdn": outbox,
        }
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    kept = f"{len(row.request):,} of {row.request_size:,} bytes kept"
    print(f"refusal R{row.id}, received {row.received_at.isoformat()}")
    print(f"  from:       {row.sender or '(no AS2-From)'} (partner {row.partner or 'unknown'})")
    print(f"  to:         {row.recipient or '(no AS2-To)'}")
    print(f"  Message-ID: <{row.message_id or '-'}>")
    print(f"  reason:     processed/error: {row.reason}")
    print(f"  detail:     {row.detail}")
    print(f"  answered:   HTTP {row.http_status}, {_answer_kind(row.answer_kind)}")
    for line in outbox:
        print(f"  async MDN:  {line}")
    print(f"  request:    {kept}{' (cut)' if row.truncated else ''}; body {len(body):,} bytes")
    print("--- request headers ---")
    print(_text(head).replace("\r\n", "\n").rstrip())
    print("--- our answer ---")
    print(_text(row.answer).replace("\r\n", "\n").rstrip())


def _answer_kind(kind: str) -> str:
    return {
        "sync": "error MDN in the response",
        "async": "error MDN POSTed to the partner's URL (async MDN outbox)",
        "none": "no MDN (none could be addressed); plain HTTP text",
    }.get(kind, kind)


def _show_message(row: InboundRow, *, as_json: bool) -> None:
    if as_json:
        out = {
            **_from_message(row).as_dict(),
            "media_type": row.media_type,
            "filename": row.filename,
            "syntax": row.syntax,
            "content_size": len(row.content),
            "answer_text": _text(row.answer),
        }
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    print(f"inbound message {row.id}, received {row.received_at.isoformat()}")
    print(f"  partner:    {row.partner} ({row.channel})")
    print(f"  Message-ID: <{row.message_id}>")
    print(f"  state:      {row.state}")
    print(f"  payload:    {row.media_type}, {len(row.content):,} bytes, syntax {row.syntax or '-'}")
    if row.invoice_number:
        print(f"  invoice:    {row.invoice_number}")
    print("--- detail ---")
    print(row.detail)
    print("--- our answer ---")
    print(_text(row.answer).replace("\r\n", "\n").rstrip() or "(none stored)")


def _show(store: Store, ref: str, args: argparse.Namespace) -> int:
    text = ref.strip()
    refusal = text[:1].upper() == "R"
    number = text[1:] if refusal else text
    if not number.isdigit():
        print(
            f"igw inbound: --show {ref!r}: accepted: a message number (12) or R and a refusal "
            "number (R3)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if refusal:
        found_refusal = get_refusal(store, int(number))
        if found_refusal is None:
            print(f"igw inbound: no refusal R{number}", file=sys.stderr)
            return EXIT_FAILED
        outbox = (
            _outbox(store, found_refusal.partner, found_refusal.message_id)
            if found_refusal.answer_kind == "async"
            else []
        )
        _show_refusal(found_refusal, as_json=args.json, outbox=outbox)
        raw = found_refusal.request
    else:
        found = get_inbound(store, int(number))
        if found is None:
            print(f"igw inbound: no inbound message {number}", file=sys.stderr)
            return EXIT_FAILED
        _show_message(found, as_json=args.json)
        raw = found.content
    if args.raw:
        Path(args.raw).write_bytes(raw)
        print(f"igw inbound: wrote {len(raw):,} bytes to {args.raw}", file=sys.stderr)
    return EXIT_OK


def cmd_inbound(args: argparse.Namespace) -> int:
    """List inbound messages and refusals, or show one."""
    from gateway.cli.main import DEFAULT_STORE_URL

    try:
        states = _states(args.state)
    except ValueError as exc:
        print(f"igw inbound: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.limit < 1:
        print(f"igw inbound: --limit {args.limit}: accepted: a whole number >= 1", file=sys.stderr)
        return EXIT_USAGE
    if args.raw and not args.show:
        print("igw inbound: --raw FILE needs --show REF", file=sys.stderr)
        return EXIT_USAGE
    store = Store.open(args.store or os.environ.get("IGW_STORE_URL") or DEFAULT_STORE_URL)
    try:
        store.migrate()
        store = store.require_tenant(
            check_tenant_id(args.tenant or os.environ.get("IGW_TENANT") or DEFAULT_TENANT)
        )
        if args.show:
            return _show(store, args.show, args)
        items = inbound_listing(store, states=states, partner=args.partner, limit=args.limit)
    finally:
        store.close()
    if args.json:
        json.dump([item.as_dict() for item in items], sys.stdout, indent=2)
        print()
    else:
        _print_table(items)
    return EXIT_OK
