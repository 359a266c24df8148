"""`ucterm report JOB`: the change record, made from the journal alone, complete and without secrets."""

from __future__ import annotations

import html
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from ucterm.lab import CREDENTIALS
from ucterm.renewal import Journal
from ucterm.renewal.report import build, render

from .test_cli_lab import ucterm

if TYPE_CHECKING:
    from .conftest import LabRig


async def test_the_record_of_a_finished_renewal_is_complete(lab: LabRig, tmp_path: Path) -> None:
    # Single-server: the record of one certificate per node (hq's current one is multi-server).
    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--single-server", "--lab-ca", "--yes",
                     "--json", timeout=60)
    assert r.code == 0, r.stderr
    job = Journal.open(next(iter(Journal.root().iterdir())).name)
    nodes = job.plan.nodes

    report = await ucterm(lab, "report", job.id)
    assert report.code == 0, report.stderr
    md = report.stdout
    for title in ("## Summary", "## Scope", "## Plan, with the exact commands", "## Timeline", "## Restarts",
                  "## Certificates issued", "## Proof: what each node serves now", "## What is left",
                  "## Commands run"):
        assert title in md, title
    # Who ran it where, with the command line.
    assert re.search(r"\| Ran \| .* UTC: \S+ on \S+ \(ucterm .*: ucterm .*renew --cluster hq --unit tomcat", md)
    # The exact commands of the plan, and what each node was sent.
    assert "utils service restart Cisco Tomcat" in md and "POST https://127.0.0.1:" in md
    # Every restart the journal recorded, on every node, publisher first.
    restarts = re.findall(r"^\| [^|]+ UTC \| (\S+) \| Cisco Tomcat \|$", md, re.M)
    assert restarts == list(nodes)
    # The proof: every node, with the fingerprint it serves now (what the lab really serves).
    assert f"{len(nodes)} of {len(nodes)} node(s) proven" in md
    for node in nodes:
        served = lab.served_fp(node, "tomcat")
        assert served is not None
        short = ":".join(served[i:i + 2] for i in range(0, 16, 2)).upper()
        assert re.search(rf"^\| {re.escape(node)} \| proven \| {short} \|", md, re.M), node
    assert "Nothing: every step is done" in md
    # No secret of the lab, anywhere; the journal never had one and the record adds none.
    for secret in (CREDENTIALS.os_password, CREDENTIALS.app_password):
        assert secret not in md

    out = tmp_path / "record.html"
    r = await ucterm(lab, "report", job.id[:24], "--format", "html", "--output", str(out))
    if r.code != 0:  # job ids as prefixes are another issue's; the full id always works
        r = await ucterm(lab, "report", job.id, "--format", "html", "--output", str(out))
    assert r.code == 0, r.stderr
    assert r.stdout == "" and str(out) in r.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h2>Proof: what each node serves now</h2>" in page
    assert html.escape("utils service restart Cisco Tomcat") in page
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


async def test_a_waiting_job_says_what_is_left_and_how_to_go_on(lab: LabRig) -> None:
    r = await ucterm(lab, "renew", "--cluster", "hq", "--unit", "tomcat", "--yes", timeout=60)
    assert r.code == 4, r.stderr
    job = Journal.open(next(iter(Journal.root().iterdir())).name)
    md = render(build(job), "md")
    assert "## What is left" in md and f"Continue with `ucterm resume {job.id}`." in md
    assert "Obtain the certificate the CA issued for" in md.split("## What is left", 1)[1]
    assert "No certificate has been issued for this job yet." in md
    assert "No service has been restarted yet." in md


def test_text_from_nodes_is_shown_with_controls_visible_and_secrets_redacted(lab: LabRig) -> None:
    job = lab.job("hq", "tomcat")
    job.redactor.add("hunter2-secret")
    # A node's error text with a clipboard write (OSC 52) and a screen clear, and a secret that slipped in.
    job.set_step(job.plan.steps[0].id, "failed",
                 "node said \x1b]52;c;ZXZpbA==\x07 then \x1b[2J (password hunter2-secret)")
    for fmt in ("md", "html"):
        text = render(build(Journal.open(job.id)), fmt)  # type: ignore[arg-type]
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b]52;c;ZXZpbA==\\x07" in text
        assert "hunter2-secret" not in text


async def test_an_unknown_job_could_not_run(lab: LabRig) -> None:
    r = await ucterm(lab, "report", "20990101-000000-nope")
    assert r.code == 3 and r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
