"""Users read plain words: no section numbers or source keys of our reference in what ucterm prints.

The sources stay in the code and its data (`catalog.Note.source`, comments); what a user reads,
the plan (`--dry-run`, text and JSON), the risks and the multi-server reasons the form shows, the
scan table and `ucterm check`, must not say "§1.3", "S-217138" or "(catalog §2)". Every unit of
every product the lab has is planned, single- and multi-server.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import Encoding

from ucterm import catalog
from ucterm.credentials import CredentialStore
from ucterm.renewal.plan import PlanError, build_plan, defaults_for, multi_server_possible, render
from ucterm.scan import scan_estate
from ucterm.scan.render import render_table

from .test_cli_lab import ucterm

if TYPE_CHECKING:
    from .conftest import LabRig

#: What a user must never read: our reference's sections, its source keys, its evidence tags and files.
INTERNAL = re.compile(r"§|\bS-[A-Z0-9]|\[(?:VERIFIED|INFERRED|CONFLICT)|cisco-uc-certs|procedure\.md|\bcatalog\b")


def internal_words(text: str) -> list[str]:
    """The lines of `text` that talk in our internal vocabulary (empty: plain words)."""
    return [line for line in text.splitlines() if INTERNAL.search(line)]


def test_the_pattern_finds_what_the_issue_saw() -> None:
    seen = ["(catalog §2)", "(§1.3, §4.1)", "(§3.2, S-217138)", "(§5.4, S-217138)", "(§3.4)"]
    assert all(internal_words(f"a risk {s}") for s in seen)
    assert not internal_words('see Cisco TAC, "Create New Certificates from Signed CA Certificates"')


async def test_every_plan_of_the_lab_reads_in_plain_words(lab: LabRig) -> None:
    scan = await scan_estate(lab.inventory, CredentialStore())
    planned = 0
    for cluster in lab.inventory.clusters:
        result = scan.node_result(cluster.name, cluster.publisher.fqdn)
        version = catalog.parse_version(result.version if result else cluster.version)
        for spec in catalog.units_for(cluster.product, version):
            possible, reason = multi_server_possible(cluster, version, spec.name)
            assert not internal_words(reason or ""), (cluster.name, spec.name, reason)
            for multi in (False, True) if possible else (False,):
                options = defaults_for(lab.inventory, scan, cluster.name, spec.name, multi)
                for regen in (False, True):
                    try:
                        plan = build_plan(lab.inventory, scan, replace(options, regenerate_csr=regen))
                    except PlanError as exc:
                        assert not internal_words(str(exc)), str(exc)
                        continue
                    planned += 1
                    text = render(plan) + "\n" + json.dumps(plan.to_dict(), ensure_ascii=False)
                    assert not internal_words(text), (cluster.name, spec.name, multi, internal_words(text))
    assert planned > 40
    table = render_table(scan, width=80)
    assert not internal_words(table), internal_words(table)


async def test_the_command_line_speaks_plainly(lab: LabRig, tmp_path: Path) -> None:
    """`--dry-run` of units with every kind of risk, refusals, a scan, a check of an expired certificate."""
    node = lab.estate.node("cucm125-pub.lab.example")
    expired = tmp_path / "tomcat.pem"
    expired.write_bytes(node.identities()["tomcat"].cert.public_bytes(Encoding.PEM))
    runs = [
        ("renew", "--cluster", "hq", "--unit", "tomcat", "--multi-server", "--dry-run"),
        ("renew", "--cluster", "hq", "--unit", "CallManager", "--dry-run"),
        ("renew", "--cluster", "presence", "--unit", "cup-xmpp", "--multi-server", "--dry-run"),
        ("renew", "--cluster", "voicemail", "--unit", "tomcat", "--dry-run"),
        ("renew", "--cluster", "branch", "--unit", "tomcat", "--multi-server", "--dry-run"),
        ("renew", "--cluster", "voicemail", "--unit", "tomcat", "--multi-server", "--dry-run"),
        ("scan",),
        ("check", "--cert", str(expired), "--unit", "tomcat", "--multi-server"),
    ]
    for args in runs:
        r = await ucterm(lab, *args)
        assert "Traceback" not in r.stderr
        said = r.stdout + r.stderr
        assert not internal_words(said), (args, internal_words(said))
