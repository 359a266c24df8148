"""No raw control character from a node, a file, a CA or the inventory reaches a terminal.

The payloads are the issue's: OSC 52 (writes the clipboard), `ESC[2J` (clears the screen), OSC 0
(retitles the window), BEL, and the C1 forms U+009B (CSI) and U+009D (OSC). Every human face is
checked for them: the scan table, CSV and stderr, `check`, error sentences, the renewal printer,
stored transcripts, the hostile shell's output end to end, and the TUI's whole screen.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.hostile import sshd
from tests.hostile.conftest import hostile_inventory
from ucterm.events import NodeNotice
from ucterm.renewal.events import JobTranscriptLine, StepFailed
from ucterm.scan.model import CertRecord, NodeResult, ScanResult
from ucterm.scan.render import problem_sentences, render_csv, render_json, render_prometheus, render_table
from ucterm.text import visible
from ucterm.vos import hostkeys

EVIL = "x\x1b]52;c;SGVsbG8=\x07\x1b[2J\x1b]0;pwned\x07\x9b31m\x9d0;t\x07\u202eok"
RAW = ("\x1b", "\x07", "\x9b", "\x9d", "\u202e")


def assert_clean(text: str) -> None:
    found = [c for c in RAW if c in text]
    assert not found, (found, text[:500])


def test_visible_shows_every_control_character() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x9b31m\x9d\x07\x7f") == "\\x9b31m\\x9d\\x07\\x7f"
    assert visible("\u202eevil") == "\\u202eevil"
    assert visible("line\nnext\tcol") == "line\\x0anext\\x09col"
    assert visible("line\nnext\tcol", lines=True) == "line\nnext\tcol"
    assert visible("Zürich, 東京, CORP\\svc") == "Zürich, 東京, CORP\\svc"


def evil_scan() -> ScanResult:
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    cert = CertRecord(cluster=f"hq{EVIL}", node=f"pub.hq.example.com{EVIL}", unit=f"tomcat{EVIL}", store="own",
                      subject_cn=f"cn{EVIL}", issuer_cn=f"ca{EVIL}", sans=(f"san{EVIL}",), serial="0a",
                      not_before=now - timedelta(days=300), not_after=now + timedelta(days=5), days_left=5,
                      status="critical", self_signed=False, fingerprint_sha256="ab" * 32, source="cli")
    node = NodeResult(cluster=f"hq{EVIL}", node=f"sub.hq.example.com{EVIL}", product="cucm", role="subscriber",
                      version="14.0", reachable=False, error=f"sub.hq.example.com: refused {EVIL}",
                      notes=(f"note {EVIL}",), state="partial")
    return ScanResult(generated_at=now, nodes=(node,), certificates=(cert,))


def test_scan_table_csv_prometheus_and_stderr_show_controls_visibly() -> None:
    scan = evil_scan()
    for text in (render_table(scan), render_table(scan, width=80), render_csv(scan), render_prometheus(scan),
                 "\n".join(problem_sentences(scan.nodes))):
        assert_clean(text)
        assert "\\x1b]52" in text
    # JSON stays escaped by its encoder, and decodes to what the node sent.
    document = render_json(scan)
    assert_clean(document)
    assert json.loads(document)["certificates"][0]["subject_cn"] == f"cn{EVIL}"


def test_renewal_printer_and_stored_transcripts(tmp_path: Path) -> None:
    from ucterm.cli.renew import Printer
    from ucterm.inventory import parse_inventory
    from ucterm.renewal.journal import Journal
    from ucterm.renewal.model import PlanOptions
    from ucterm.renewal.plan import build_plan

    text = '[[cluster]]\nname = "hq"\nproduct = "cucm"\nversion = "14.0.1.13900-155"\n' \
           '[[cluster.node]]\nfqdn = "pub.hq.example.com"\nrole = "publisher"\n'
    inventory = parse_inventory(text, path=tmp_path / "inventory.toml")
    job = Journal.create(build_plan(inventory, None, PlanOptions("hq", "tomcat")), tmp_path / "inventory.toml")
    out = StringIO()
    printer = Printer(job.plan, out)
    printer(JobTranscriptLine(node="pub.hq.example.com", direction="received", text=EVIL, channel="ssh",
                              job=job.id, step=None))
    printer(StepFailed(job=job.id, step=job.plan.steps[0].id, node="pub", error=f"refused: {EVIL}", fix=EVIL))
    printer(NodeNotice(node="pub", message=EVIL))
    assert_clean(out.getvalue())
    job.transcript("pub.hq.example.com", EVIL)
    job.event({"text": EVIL})
    assert_clean((job.folder / "transcripts" / "pub.hq.example.com.log").read_text())
    assert_clean((job.folder / "log.jsonl").read_text())


def evil_certificate(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"cn{EVIL}")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=90))
            # (a DNS name must be ASCII: the C0 payloads only)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("san\x1b]52;c;SGVsbG8=\x07\x1b[2J")]), False)
            .sign(key, hashes.SHA256()))
    path = folder / f"issued{EVIL[:6]}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


async def ucterm(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ucterm", *args,
                                                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def test_check_shows_the_certificate_s_names_visibly(tmp_path: Path) -> None:
    path = evil_certificate(tmp_path)
    code, out, err = await ucterm("check", "--cert", str(path), "--unit", "tomcat")
    assert code in (1, 2), err
    assert_clean(out + err)
    assert "\\x1b]52" in out
    code, out, _ = await ucterm("check", "--cert", str(path), "--json")
    assert_clean(out)
    json.loads(out)


async def test_error_sentences_quote_file_names_visibly(tmp_path: Path) -> None:
    code, out, err = await ucterm("check", "--cert", str(tmp_path / f"missing{EVIL}.pem"))
    assert code == 3
    assert_clean(out + err)
    code, out, err = await ucterm("scan", "--inventory", str(tmp_path / f"none{EVIL}.toml"))
    assert code == 3
    assert_clean(out + err)


HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")


async def test_cli_output_of_a_node_reaches_no_terminal_raw(tmp_path: Path) -> None:
    """The hostile shell prints the payloads in a certificate list description and an error."""
    from tests.hostile.certs import make_cert, pem

    tomcat = make_cert("tomcat.hostile.example", 30)
    script = sshd.Script(commands={
        "show version active": sshd.lines("Active Master Version: 12.5.1.16900-48"),
        "show cert list own": sshd.lines(f"tomcat/tomcat.pem: Certificate Signed by {EVIL}",
                                         f"CallManager/CallManager.pem: {EVIL}",
                                         "Call\x9b31mX/CallX.pem: a unit whose name holds a C1 CSI"),
        "show cert list trust": sshd.lines(""),
        "show cert own tomcat": sshd.certificate_output(pem(tomcat)),
        "show cert own CallManager": sshd.lines(f"Executed command unsuccessfully {EVIL}"),
        "show network cluster": sshd.lines(f"{EVIL}"),
    })
    server = await sshd.start(script, HOST_KEY)
    try:
        port = sshd.port_of(server)
        path = hostile_inventory(tmp_path, port)
        hostkeys.accept_host_key(tmp_path / "known_hosts", "hostile1.lab.example", port, HOST_KEY,
                                 address="127.0.0.1")
        _, out, err = await ucterm("scan", "--inventory", str(path), "--no-probe")
        assert_clean(out + err)
        # The CLI's text is cleaned of escape sequences (vos.text) and what is left is escaped: the C1 CSI.
        assert "\\x9b31m" in out
        _, out, err = await ucterm("scan", "--inventory", str(path), "--no-probe", "--json")
        assert_clean(out + err)
    finally:
        server.close()


async def test_the_tui_shows_outside_text_visibly(tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from tests.tui.conftest import NOW
    from ucterm.inventory import load_inventory
    from ucterm.tui.app import UctermApp
    from ucterm.tui.config import Preferences
    from ucterm.tui.session import Session, frozen_clock

    inventory_path = tmp_path / "inventory.toml"
    inventory_path.write_text('[[cluster]]\nname = "hq\\u001b]0;pwned\\u0007"\nproduct = "cucm"\n'
                              'version = "14.0.1.13900-155"\n'
                              '[[cluster.node]]\nfqdn = "pub.hq.example.com"\nrole = "publisher"\n'
                              '[[cluster.node]]\nfqdn = "sub.hq.example.com"\nrole = "subscriber"\n')
    inventory_path.chmod(0o600)
    inventory = load_inventory(inventory_path)
    scan = evil_scan()
    name = inventory.clusters[0].name
    certs = tuple(c.__class__(**{**c.__dict__, "cluster": name, "node": "pub.hq.example.com",
                                 "unit": "tomcat"}) for c in scan.certificates)
    nodes = tuple(n.__class__(**{**n.__dict__, "cluster": name, "node": "sub.hq.example.com"}) for n in scan.nodes)
    session = Session(inventory=inventory, inventory_path=inventory_path,
                      scan=ScanResult(generated_at=NOW, nodes=nodes, certificates=certs), clock=frozen_clock(NOW),
                      label="hostile")
    app = UctermApp(session, scan_on_start=False, preferences=Preferences())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        app.query_one(DataTable).focus()
        await pilot.pause(0.3)
        app.say(f"toast {EVIL}")
        await pilot.pause(0.3)
        update = app.screen._compositor.render_update(full=True)
        shown = "".join(segment.text for strip in update.strips for segment in strip)  # type: ignore[attr-defined]
        assert "cnx\\x1b]52" in shown  # the certificate is on screen, its CN escaped
        assert_clean(shown)
