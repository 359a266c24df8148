"""The `ucterm` command line: every sub-command's arguments, in one place (design.md §3).

Argument definitions live here because they are a public contract that users script against;
the work lives in the modules :data:`ucterm.cli.main.HANDLERS` names, imported only when their
command runs, so `ucterm --help` and the headless commands never import Textual.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ucterm import __version__

__all__ = ["build_parser"]


def _inventory_arg(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    # Sub-parsers suppress their default so that `ucterm --inventory F scan` keeps F.
    p.add_argument("--inventory", type=Path, metavar="FILE", default=None if top else argparse.SUPPRESS,
                   help="inventory TOML (default: inventory.toml in the user config dir)")


def _read_only_arg(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    p.add_argument("--read-only", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="disable every renewal action")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ucterm",
        description="See certificate expiry across Cisco UC clusters and renew CA-signed certificates.",
        epilog="Run `ucterm demo` to try everything on an embedded lab estate.",
    )
    parser.add_argument("--version", action="version", version=f"ucterm {__version__}")
    _inventory_arg(parser, top=True)
    _read_only_arg(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("tui", help="the terminal application on your inventory (the default)",
                       description="Open the terminal application on your inventory: the estate's certificates, "
                                   "renewals and jobs, from the keyboard. Without an inventory it offers the demo. "
                                   "Needs a terminal (exit 3 without one).")
    _inventory_arg(p)
    _read_only_arg(p)

    p = sub.add_parser("demo", help="start the embedded lab estate and open the application on it",
                       description="Start the embedded lab estate (simulated CUCM, IM and Presence and Unity "
                                   "Connection nodes on 127.0.0.1) and open the application on it; the lab CA "
                                   "signs CSRs on the spot. The lab stops when the application does.")
    _inventory_arg(p)
    _read_only_arg(p)
    p.add_argument("--profile", choices=("fast", "demo", "realistic"), default="demo",
                   help="how slow the simulated nodes are: fast, demo (default) or realistic (minutes, as VOS)")

    p = sub.add_parser("scan", help="expiry review of every node",
                       description="Read every certificate of every node and report expiry. Exit codes: "
                                   "0 ok, 1 warning, 2 critical/expired, 3 incomplete (a node unreachable).")
    _inventory_arg(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON on stdout (one row per node and certificate)")
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout")
    p.add_argument("--prometheus", type=Path, metavar="FILE", help="also write a textfile-collector file")
    p.add_argument("--warn-days", type=int, metavar="N", help="warning threshold in days")
    p.add_argument("--crit-days", type=int, metavar="N", help="critical threshold in days")
    p.add_argument("--cluster", action="append", metavar="NAME", help="only these clusters")
    p.add_argument("--no-probe", action="store_true", help="skip the TLS probes of served certificates")
    p.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="nodes read at the same time, each for its whole read (default: every node at once; "
                        "what that costs this machine is bounded anyway: 16 logins being negotiated, and open "
                        "connections by its file limit); a smaller N is gentler on the appliances")

    p = sub.add_parser("check", help="pre-upload validation of what a CA issued",
                       description="Check a CA-issued certificate before uploading it. Exit codes: "
                                   "0 clean, 1 warnings, 2 errors, 3 could not run.")
    _inventory_arg(p)
    # Not `required`: argparse would exit 2 (= "errors found"); check.run says what is missing and exits 3.
    p.add_argument("--cert", type=Path, metavar="F", help="the issued certificate (any format)")
    p.add_argument("--csr", type=Path, metavar="F", help="the CSR it was issued from")
    p.add_argument("--chain", action="extend", nargs="+", type=Path, default=[], metavar="F",
                   help="CA certificates (repeatable; any format, any order)")
    p.add_argument("--unit", metavar="U", help="the certificate unit (tomcat, CallManager, cup-xmpp, ...)")
    p.add_argument("--multi-server", action="store_true", help="the certificate is a multi-server (SAN) one")
    p.add_argument("--json", action="store_true", help="JSON on stdout")

    for name, helptext in (("renew", "headless renewal, journaled"),
                           ("resume", "continue a journaled renewal job")):
        description = (f"{helptext.capitalize()}. Exit codes: 0 done, 2 failed, 4 waiting (for the signed "
                       "certificate(s), an approval or the maintenance window), 3 could not run.")
        if name == "renew":
            description += (" With --due DAYS: every identity certificate that expires within DAYS days, one job "
                            "per cluster and unit, clusters side by side; 0 all done, 2 any failed, 4 none failed "
                            "and some waiting. Run again (cron, a timer), it resumes its unfinished jobs.")
        p = sub.add_parser(name, help=helptext, description=description)
        _inventory_arg(p)
        if name == "renew":
            # Once each for one renewal; with --due, repeatable filters.
            p.add_argument("--cluster", action="append", metavar="C",
                           help="the cluster to renew on, its name in the inventory (with --due: only these "
                                "clusters; repeatable)")
            p.add_argument("--unit", action="append", metavar="U",
                           help="the certificate unit: tomcat, CallManager, cup-xmpp, ... (`ucterm scan` lists them; "
                                "with --due: only these units, repeatable; the high-risk units CallManager, TVS, "
                                "CAPF, ITLRecovery are renewed only when named)")
            p.add_argument("--due", type=int, metavar="DAYS",
                           help="renew every identity certificate that expires within DAYS days, like for like")
            p.add_argument("--parallel", type=int, metavar="N",
                           help="with --due: clusters renewed at the same time (default 4)")
            p.add_argument("--node", action="append", default=[], metavar="N", help="only these nodes")
            distribution = p.add_mutually_exclusive_group()
            distribution.add_argument("--multi-server", action="store_true",
                                      help="one certificate for the whole cluster (default: like the current one)")
            distribution.add_argument("--single-server", action="store_true",
                                      help="one certificate per node, even where the current one is multi-server")
            p.add_argument("--lab-ca", action="store_true", help="have the lab CA sign (lab inventories only)")
            p.add_argument("--dry-run", action="store_true", help="print the plan with exact commands and stop")
            _read_only_arg(p)
            p.add_argument("--regenerate-csr", action="store_true",
                           help="replace an outstanding CSR (only if the CA has not issued from it)")
        else:
            p.add_argument("job", metavar="JOB", help="job id or a unique start of it (see `ucterm jobs`)")
        p.add_argument("--signer", metavar="NAME",
                       help="the inventory's [[signer]] that signs the CSRs (overrides signer = in the inventory)")
        p.add_argument("--signed", action="extend", nargs="+", type=Path, default=[], metavar="F",
                       help="issued certificate files or folders; matched to CSRs by public key")
        p.add_argument("--chain", action="extend", nargs="+", type=Path, default=[], metavar="F",
                       help="CA certificates")
        p.add_argument("--restart-now", action="store_true",
                       help="restart outside the cluster's maintenance_window (asks first, unless --yes)")
        p.add_argument("--yes", action="store_true", help="do not ask for confirmations")
        p.add_argument("--quiet", "-q", action="store_true",
                       help="print only the summary at the end (and errors); the job folder keeps the transcript")
        p.add_argument("--confirm-each", action="store_true",
                       help="ask before each risky step (default: once, before the run, listing them)")
        p.add_argument("--json", action="store_true", help="print the job summary as JSON on stdout")

    p = sub.add_parser("report", help="the change record of a job (plan, timeline, commands, proof)",
                       description="Render a job's journal as the change record a change board asks for: "
                                   "scope, plan with exact commands, timeline, who ran it where, restarts, "
                                   "the proof each node serves the new certificate, and what is left. Reads "
                                   "only the job folder.")
    _inventory_arg(p)
    p.add_argument("job", metavar="JOB", help="job id or a unique start of it (see `ucterm jobs`)")
    p.add_argument("--format", choices=("md", "html"), default="md", help="Markdown (default) or HTML")
    p.add_argument("--output", type=Path, metavar="F", help="write to F (owner-only) instead of stdout")

    p = sub.add_parser("jobs", help="list journaled renewals and their state",
                       description="List the renewal jobs in the journal, newest first, with their state and the "
                                   "inventory each belongs to: the current inventory's jobs (--inventory, else the "
                                   "default one), or every job with --all.")
    _inventory_arg(p)
    p.add_argument("--all", action="store_true", help="every job in the journal, whatever its inventory")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--abandon", metavar="JOB",
                   help="give up an unfinished job (journaled; nothing on the nodes is touched) so that a new "
                        "renewal of its unit can start")

    p = sub.add_parser("lab", help="run the lab estate in the foreground until Ctrl+C",
                       description="Run the embedded lab estate in the foreground until Ctrl+C and print where each "
                                   "node listens (127.0.0.1 only); --write-inventory writes an inventory for it, for "
                                   "`ucterm scan`, `ucterm renew --lab-ca` and the application.")
    _inventory_arg(p)
    p.add_argument("--profile", choices=("fast", "demo", "realistic"), default="demo",
                   help="how slow the simulated nodes are (default: demo)")
    p.add_argument("--write-inventory", type=Path, metavar="FILE",
                   help="write an inventory for the lab to FILE (known_hosts and lab-ca.pem beside it)")

    p = sub.add_parser("info", help="config, state, known_hosts and log paths, versions",
                       description="Print the paths ucterm uses (config, state, jobs, known_hosts, logs) and the "
                                   "versions a bug report needs.")
    _inventory_arg(p)
    return parser
