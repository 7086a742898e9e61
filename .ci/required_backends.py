"""Fail the CI run unless every required backend was really exercised.

Reads the JUnit XML pytest wrote and checks, per backend, that at least ``minimum`` tests ran and
passed and none was skipped: PostgreSQL (the store fixtures' ``postgresql`` parameter), SFTP
(tests against the paramiko server), AS2 (round trips over HTTP and the shared interop captures),
SMTP (aiosmtpd), IMAP (the bounce mailbox on Dovecot).
A test file renamed away or a fixture that silently stops parametrising would otherwise leave
the run green.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

REQUIRED = {
    # backend: (substring of "classname::name", minimum passed)
    "PostgreSQL": ("postgresql", 50),
    "SFTP": ("test_connectors_sftp", 20),
    "AS2 exchange": ("test_as2_exchange", 20),
    "AS2 interop captures": ("test_as2_interop", 5),
    "SMTP": ("test_email_", 30),
    "IMAP": ("test_email_bounces_imap", 8),
}


def main(path: str) -> int:
    cases = ET.parse(path).getroot().iter("testcase")
    seen = {name: [0, 0] for name in REQUIRED}  # passed, skipped
    for case in cases:
        ident = f"{case.get('classname', '')}::{case.get('name', '')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        for name, (needle, _) in REQUIRED.items():
            if needle in ident:
                if skipped:
                    seen[name][1] += 1
                elif not failed:
                    seen[name][0] += 1
    problems = [
        f"{name}: {passed} passed (need >= {REQUIRED[name][1]}), {skipped} skipped (need 0)"
        for name, (passed, skipped) in seen.items()
        if passed < REQUIRED[name][1] or skipped
    ]
    for name, (passed, skipped) in seen.items():
        print(f"required backend {name}: {passed} passed, {skipped} skipped")
    if problems:
        print("required backend tests missing or skipped:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
