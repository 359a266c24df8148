"""`ucterm check`: pre-upload validation of what a CA issued (design.md §3).

The verdict comes from :func:`ucterm.pki.check_files`, the same code the renewal engine runs
before an upload; this module only reads arguments and renders. With `--json`, stdout carries
the JSON document and nothing else; errors that stop the check go to stderr as one sentence
and exit 3. Imports stay light (no Textual): the command must start fast on a jumpbox.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import textwrap
from typing import TextIO

from cryptography import x509

from ucterm import catalog
from ucterm.errors import UctermError
from ucterm.expiry import is_expired, left_words
from ucterm.pki import CheckReport, check_files, key_usage_of, label, summarise
from ucterm.pki.summary import KEY_USAGE_LABELS, is_self_signed, utc
from ucterm.text import visible

__all__ = ["EXIT_COULD_NOT_RUN", "render_report", "run"]

#: design.md §3: 0 clean, 1 warnings, 2 errors, 3 could not run.
EXIT_COULD_NOT_RUN = 3


def run(args: argparse.Namespace, *, now: dt.datetime | None = None,
        stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the check; returns the exit code. `now`, `stdout` and `stderr` are for tests."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if not getattr(args, "cert", None):
        print("ucterm: check needs --cert FILE, the certificate file the CA returned", file=err)
        return EXIT_COULD_NOT_RUN
    try:
        report = check_files(args.cert, csr=args.csr, chains=list(args.chain or ()), unit=args.unit,
                             multi_server=bool(args.multi_server), now=now)
    except UctermError as exc:
        print(f"ucterm: {visible(str(exc), lines=True)}", file=err)
        return EXIT_COULD_NOT_RUN
    if report.nothing_to_check:  # design.md §3: a file that is no certificate at all is a bad file (3)
        print(f"ucterm: {report.nothing_to_check}", file=err)
        return EXIT_COULD_NOT_RUN
    if args.json:
        out.write(json.dumps(report.to_json_dict(), indent=2) + "\n")
    else:
        width = max(60, shutil.get_terminal_size().columns) if out.isatty() else None
        # The report quotes the certificate's names and the files' problems: shown, never obeyed.
        out.write(visible(render_report(report, now=now, unicode=_can_encode(out, "└─"), width=width), lines=True))
    return report.exit_code


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


# --------------------------------------------------------------------------------------------
# Human report


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _wrap(prefix: str, text: str, indent: int, width: int | None) -> list[str]:
    """`prefix + text`, wrapped to `width` with a hanging indent (unwrapped when width is None)."""
    if width is None:
        return [prefix + text]
    return textwrap.wrap(text, width=width, initial_indent=prefix, subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _role(cert: x509.Certificate, index: int) -> str:
    if index == 0:
        return "leaf"
    return "root" if is_self_signed(cert) else "intermediate"


def _certificate_lines(cert: x509.Certificate, now: dt.datetime) -> list[str]:
    s = summarise(cert, now)
    sans = ", ".join([*s.sans_dns, *s.sans_ip]) or "(none)"
    left = left_words(s.days_left, is_expired(s.not_after, now))
    eku = ", ".join(s.eku) if s.eku_present else "(no extension: any usage)"
    ku = ("(no extension: any usage)" if key_usage_of(cert) is None
          else ", ".join(KEY_USAGE_LABELS[k] for k in s.key_usage) or "(no bit set)")
    return [
        f"  subject  {s.subject or '(empty)'}",
        f"  issuer   {s.issuer or '(empty)'}",
        f"  SANs     {sans}",
        f"  valid    {_date(s.not_before)} to {_date(s.not_after)} ({left})",
        f"  key      {s.key_type} {s.key_size}, signed {s.signature_algorithm}",
        f"  EKU      {eku}",
        f"  KU       {ku}",
        f"  serial   {s.serial_hex}",
        f"  SHA-256  {s.sha256}",
    ]


def _chain_lines(report: CheckReport, now: dt.datetime, unicode: bool) -> list[str]:
    chain = report.chain
    if chain is None or not chain.certs:
        return ["  (no chain: there is no leaf certificate)"]
    branch = "└─ " if unicode else "`- "
    rows: list[str] = []
    top = chain.certs[-1]
    if not chain.complete:
        issuer = top.issuer.rfc4514_string()
        state = "signature does not verify" if chain.broken_at is not None else "missing from the files"
        rows.append(f"[{state}] {issuer}")
    for index in range(len(chain.certs) - 1, -1, -1):
        cert = chain.certs[index]
        tags = [_role(cert, index), f"until {_date(cert.not_valid_after_utc)}"]
        if cert.not_valid_after_utc < now:
            tags.append("EXPIRED")
        if chain.is_trusted(cert):
            tags.append("already trusted by the node")
        rows.append(f"{label(cert)}  [{', '.join(tags)}]")
    lines = []
    for depth, row in enumerate(rows):
        lines.append("  " + ("   " * (depth - 1) + branch if depth else "") + row)
    return lines


def _upload_lines(report: CheckReport) -> list[str]:
    plan = report.upload
    if plan is None:
        return ["  (nothing to upload)"]
    spec = catalog.unit_spec(report.unit) if report.unit else None
    trust_store = spec.trust_store if spec else "<unit>-trust"
    unit = spec.name if spec else "<unit>"
    lines = []
    n = 0
    for cert in plan.trust:
        n += 1
        kind = "root" if is_self_signed(cert) else "intermediate"
        lines.append(f"  {n}. {trust_store:<20} {kind} '{label(cert)}'")
    n += 1
    lines.append(f"  {n}. {unit:<20} leaf '{label(plan.identity)}'")
    for cert in plan.already_trusted:
        lines.append(f"     (skip: '{label(cert)}' is already in {trust_store})")
    if report.chain is not None and not report.chain.complete:
        lines.append("     (the missing CA certificates go to the trust store first: see the findings)")
    if spec is None:
        lines.append("     (pass --unit to name the trust store and the unit)")
    return lines


def render_report(report: CheckReport, *, now: dt.datetime | None = None, unicode: bool = True,
                  width: int | None = None) -> str:
    """The readable report: the certificate, the chain as a tree, findings with fixes, upload order.

    `unicode` draws the tree with box characters (else ASCII); `width` wraps findings and notes
    for a terminal (None: one line each, for files and pipes).
    """
    moment = utc(now)
    lines: list[str] = []
    if report.leaf is not None:
        title = f"Certificate '{label(report.leaf)}'" + (f" for {report.unit}" if report.unit else "")
        lines += [title, *_certificate_lines(report.leaf, moment), ""]
        lines += ["Chain (complete)" if report.chain and report.chain.complete else "Chain (incomplete)"]
        lines += [*_chain_lines(report, moment, unicode), ""]
    lines.append("Findings")
    if not report.findings:
        lines.append("  none")
    for f in report.findings:
        lines += _wrap(f"  {f.severity.upper():<8} ", f"{f.code}: {f.message}", 11, width)
        lines += _wrap(f"  {'':<8} fix: ", f.fix, 16, width)
    if report.notes:
        lines += ["", "Notes"]
        for note in report.notes:
            lines += _wrap("  - ", note, 4, width)
    if report.leaf is not None:
        lines += ["", "Upload order", *_upload_lines(report)]
    errors, warnings = len(report.errors), len(report.warnings)
    lines.append("")
    if errors:
        verdict = (f"Result: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}: do not upload "
                   "this certificate; the upload would fail or the certificate would not work.")
    elif warnings:
        verdict = (f"Result: no errors, {_plural(warnings, 'warning')}: the upload should succeed; "
                   "read the warnings first.")
    else:
        verdict = "Result: clean, ready to upload."
    lines += _wrap("", verdict, 8, width)
    return "\n".join(lines) + "\n"
