"""Renewals on the lab with each kind of `[[signer]]`, against real CAs started here on loopback.

Each end-to-end test runs the whole job (CSR to proof) without a file carried by hand, never
stops waiting (exit 4), and ends with every node serving the new certificate; none of the
signer's secrets appears in the journal, a transcript or an event. The AD CS kind runs against
the lab's own web enrollment (NTLM with Extended Protection), Vault against a real OpenBao dev
server, ACME against pebble with pebble-challtestsrv (command hook) or BIND (RFC 2136 + TSIG).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.signers import servers
from ucterm import pki
from ucterm.renewal import Journal, StepProgress
from ucterm.renewal.signers import build_signer
from ucterm.signer_config import AcmeSpec, AdcsSpec, CommandSpec, DnsCommand, DnsRfc2136, SignerConfig, VaultSpec

if TYPE_CHECKING:
    from .conftest import LabRig

CLUSTER, UNIT = "voicemail", "tomcat"
NODES = ("cuc15-pub.lab.example", "cuc15-sub.lab.example")
#: Timings of the obtain steps per kind, printed at the end of the module (pytest -s shows them).
TIMINGS: dict[str, list[float]] = {}


def _secret_free(rig: LabRig, job_id: str, *secrets: str) -> None:
    """No secret in any file of the job folder (log, artifacts, transcripts) nor in any event."""
    job = Journal.open(job_id)
    for path in job.folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            for secret in secrets:
                assert secret not in text, f"a signer secret is in {path}"
    for event in rig.events:
        blob = json.dumps(event.to_dict(), default=str)
        for secret in secrets:
            assert secret not in blob, f"a signer secret is in event {type(event).__name__}"


def _obtain_seconds(job_id: str) -> float:
    """From the first obtain step starting to the last one done, from the journal's timestamps."""
    starts, ends = [], []
    for record in Journal.open(job_id).records():
        if record.get("type") == "step" and str(record.get("step", "")).startswith("obtain_signed:"):
            ts = record["ts"]
            (starts if record["state"] == "running" else ends).append(ts)
    from datetime import datetime

    def parse(ts: str) -> float:
        return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()

    return parse(max(ends)) - parse(min(starts))


async def _renew(rig: LabRig, config: SignerConfig, **kwargs: Any) -> tuple[str, str]:
    job = rig.job(CLUSTER, UNIT, signer="signer", signer_name=config.name)
    state = await rig.runner(job, signer=build_signer(config), **kwargs).run()
    return job.id, state


def _proven(rig: LabRig, job_id: str, *, waited: bool = False) -> None:
    job = Journal.open(job_id)
    assert job.state == "done", job.detail
    for node in NODES:
        leaf = pki.load_bundle((job.read_artifact(f"cert-{node}.pem") or "").encode(), "t").certificates[0]
        assert rig.served_fp(node, UNIT) == pki.sha256_hex(leaf), node
        assert job.steps[f"verify:{node}"].state == "done"
    assert all(job.steps[f"obtain_signed:{n}"].state == "done" for n in NODES)
    if not waited:  # never exit 4 on the way
        assert not any(r.get("type") == "job" and r.get("state") == "waiting" for r in job.records())


def _time(kind: str, job_id: str) -> None:
    TIMINGS.setdefault(kind, []).append(_obtain_seconds(job_id))


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield
    if TIMINGS:
        lines = [f"  {k}: obtain step {min(v):.2f}-{max(v):.2f} s for {len(NODES)} CSRs" for k, v in TIMINGS.items()]
        print("\nsigner timings:\n" + "\n".join(lines), file=sys.stderr)


# --------------------------------------------------------------------------------------------
# AD CS: the lab's web enrollment


def _adcs(rig: LabRig, **changes: Any) -> SignerConfig:
    config = rig.inventory.signer("corp-adcs")
    assert isinstance(config.spec, AdcsSpec)
    return dataclasses.replace(config, spec=dataclasses.replace(config.spec, **changes))


@pytest.mark.parametrize("auth", ["ntlm", "basic"])
async def test_adcs_issues_and_the_renewal_ends_proven(lab: LabRig, monkeypatch: pytest.MonkeyPatch,
                                                       auth: str) -> None:
    monkeypatch.setenv("UCTERM_TEST_ADCS", "ucterm-lab-adcs")
    config = _adcs(lab, password="env:UCTERM_TEST_ADCS", auth=auth)
    job_id, state = await _renew(lab, config)
    assert state == "done"
    _proven(lab, job_id)
    _time(f"adcs ({auth})", job_id)
    site = lab.estate.web_enrollment
    assert len(site.requests) == len(NODES) and all(r.state == "issued" for r in site.requests.values())
    assert {r.requester for r in site.requests.values()} == {"LAB\\ucterm-enroll"}
    job = Journal.open(job_id)
    sign = job.steps[f"obtain_signed:{NODES[0]}"].done["sign"]
    assert sign["request_id"] and sign["status"] == "issued" and "password" not in json.dumps(sign)
    progress = [e.message for e in lab.events if isinstance(e, StepProgress)]
    assert any("submitted with template CiscoUCServerClient, request" in m for m in progress)
    issuer = pki.load_bundle((job.read_artifact(f"cert-{NODES[0]}.pem") or "").encode(), "t").certificates[0].issuer
    assert pki.cn_of(issuer) == "ucterm Lab Issuing CA"
    _secret_free(lab, job_id, "ucterm-lab-adcs")


async def test_adcs_pending_waits_then_resume_fetches_the_same_requests(lab: LabRig) -> None:
    config = _adcs(lab, template="CiscoUCApproval")
    job_id, state = await _renew(lab, config)
    assert state == "waiting"
    job = Journal.open(job_id)
    site = lab.estate.web_enrollment
    pending = sorted(site.requests)
    # Every CSR of the job went to the CA at once: one approval round for the whole cluster.
    assert len(pending) == len(NODES) and all(r.state == "pending" for r in site.requests.values())
    assert f"AD CS request {pending[0]}" in job.detail and "CA manager's approval" in job.detail
    assert f"request {pending[1]}" in job.detail and f"ucterm resume {job_id}" in job.detail
    # Still pending: resume asks again and waits again, without a new request.
    assert await lab.runner(job, signer=build_signer(config)).run() == "waiting"
    assert sorted(site.requests) == pending
    for rid in pending:
        site.approve(rid)
    assert await lab.runner(Journal.open(job_id), signer=build_signer(config)).run() == "done"
    assert sorted(site.requests) == pending  # the approved requests, never a second submission
    _proven(lab, job_id, waited=True)
    _secret_free(lab, job_id, "ucterm-lab-adcs")


async def test_adcs_denied_fails_with_the_disposition_message(lab: LabRig) -> None:
    job_id, state = await _renew(lab, _adcs(lab, template="NoSuchTemplate"))
    assert state == "failed"
    detail = Journal.open(job_id).steps[f"obtain_signed:{NODES[0]}"].detail
    assert "denied request" in detail and "Denied by Policy Module" in detail and "NoSuchTemplate" in detail
    assert lab.counts.identity == {}


async def test_adcs_wrong_password_is_one_sentence_without_the_password(lab: LabRig,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCTERM_TEST_ADCS", "not-the-password-42")
    job_id, state = await _renew(lab, _adcs(lab, password="env:UCTERM_TEST_ADCS"))
    assert state == "failed"
    detail = Journal.open(job_id).steps[f"obtain_signed:{NODES[0]}"].detail
    assert "refused ntlm authentication as LAB\\ucterm-enroll" in detail
    assert not lab.estate.web_enrollment.requests
    _secret_free(lab, job_id, "not-the-password-42")


async def test_adcs_server_auth_only_template_is_refused_naming_fn74345(lab: LabRig) -> None:
    job_id, state = await _renew(lab, _adcs(lab, template="WebServer"))
    assert state == "failed"
    detail = Journal.open(job_id).steps[f"validate:{NODES[0]}"].detail
    assert "clientAuth" in detail and "FN74345" in detail and "nothing was uploaded" in detail
    assert lab.counts.identity == {} and lab.counts.trust == {}


# --------------------------------------------------------------------------------------------
# Vault: a real OpenBao dev server


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Bao]:
    with servers.openbao(tmp_path_factory.mktemp("bao")) as server:
        yield server


@pytest.mark.parametrize(("verbatim", "namespace"), [(True, None), (False, None), (True, servers.NAMESPACE)],
                         ids=["sign-verbatim", "sign", "namespace"])
async def test_vault_signs_and_the_renewal_ends_proven(lab: LabRig, bao: servers.Bao, verbatim: bool,
                                                        namespace: str | None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCTERM_TEST_BAO_TOKEN", bao.token)
    config = SignerConfig("bao", "vault", VaultSpec(url=bao.url, role=bao.role, token="env:UCTERM_TEST_BAO_TOKEN",
                                                   mount=bao.mount, verbatim=verbatim, namespace=namespace),
                          ca_bundle=bao.ca_bundle)
    job_id, state = await _renew(lab, config)
    assert state == "done", Journal.open(job_id).detail
    _proven(lab, job_id)
    _time(f"vault ({'sign-verbatim' if verbatim else 'sign'}{', namespace' if namespace else ''})", job_id)
    job = Journal.open(job_id)
    chain = job.read_artifact(f"chain-{NODES[0]}.pem") or ""
    root = "ucterm Test Bao Namespace Root" if namespace else "ucterm Test Bao Root"
    assert pki.cn_of(pki.load_bundle(chain.encode(), "t").certificates[0].subject) == root
    _secret_free(lab, job_id, bao.token)


async def test_vault_bad_token_is_one_sentence(lab: LabRig, bao: servers.Bao, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCTERM_TEST_BAO_TOKEN", "wrong-token-0123456789")
    config = SignerConfig("bao", "vault", VaultSpec(url=bao.url, role=bao.role, token="env:UCTERM_TEST_BAO_TOKEN",
                                                   verbatim=True), ca_bundle=bao.ca_bundle)
    job_id, state = await _renew(lab, config)
    assert state == "failed"
    detail = Journal.open(job_id).steps[f"obtain_signed:{NODES[0]}"].detail
    assert 'signer "bao"' in detail and "refused the token" in detail
    _secret_free(lab, job_id, "wrong-token-0123456789")


async def test_vault_without_ca_bundle_refuses_the_unknown_ca(lab: LabRig, bao: servers.Bao) -> None:
    config = SignerConfig("bao", "vault", VaultSpec(url=bao.url, role=bao.role, token="literal-token", verbatim=True))
    job_id, state = await _renew(lab, config)
    assert state == "failed"
    assert "does not verify" in Journal.open(job_id).steps[f"obtain_signed:{NODES[0]}"].detail


# --------------------------------------------------------------------------------------------
# command: a script that signs with the lab CA


SIGN_SCRIPT = """
import sys
from pathlib import Path
from ucterm.lab import load_ca
csr, out, folder = sys.argv[1], sys.argv[2], sys.argv[3]
leaf, chain = load_ca(folder).sign(Path(csr).read_text())
Path(out).write_text(leaf + "".join(chain))
"""


async def test_command_signs_and_the_renewal_ends_proven(lab: LabRig, tmp_path: Path) -> None:
    script = tmp_path / "sign.py"
    script.write_text(SIGN_SCRIPT)
    folder = lab.inventory.defaults.lab_ca
    config = SignerConfig("script", "command",
                          CommandSpec((sys.executable, str(script), "{csr}", "{out}", str(folder))), timeout=60)
    job_id, state = await _renew(lab, config)
    assert state == "done", Journal.open(job_id).detail
    _proven(lab, job_id)
    _time("command", job_id)


async def test_command_failure_quotes_its_stderr(lab: LabRig, tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys\nprint('the CA said: template CiscoUC is disabled', file=sys.stderr)\nsys.exit(3)\n")
    config = SignerConfig("script", "command", CommandSpec((sys.executable, str(script), "{csr}", "{out}")))
    job_id, state = await _renew(lab, config)
    assert state == "failed"
    detail = Journal.open(job_id).steps[f"obtain_signed:{NODES[0]}"].detail
    assert "exited with status 3" in detail and "template CiscoUC is disabled" in detail


async def test_command_that_writes_nothing_and_one_that_hangs(lab: LabRig, tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.py"
    quiet.write_text("pass\n")
    config = SignerConfig("script", "command", CommandSpec((sys.executable, str(quiet), "{csr}", "{out}")))
    job_id, state = await _renew(lab, config)
    assert state == "failed" and "wrote no certificate" in Journal.open(job_id).detail
    hang = tmp_path / "hang.py"
    hang.write_text("import time\ntime.sleep(60)\n")
    config = SignerConfig("script", "command", CommandSpec((sys.executable, str(hang), "{csr}", "{out}")), timeout=0.5)
    started = time.monotonic()
    assert await lab.runner(Journal.open(job_id), signer=build_signer(config)).run() == "failed"
    assert time.monotonic() - started < 20
    assert "did not finish within 0.5 s" in Journal.open(job_id).detail


# --------------------------------------------------------------------------------------------
# ACME: pebble, DNS-01 through challtestsrv (command hook) or BIND (RFC 2136)


HookCA = tuple[servers.Pebble, servers.Challtestsrv]

HOOK = """
import json, sys, urllib.request
action, url, name = sys.argv[1], sys.argv[2], sys.argv[3]
body = {"host": name + "."}
if action == "set-txt":
    body["value"] = sys.argv[4]
request = urllib.request.Request(url + "/" + action, data=json.dumps(body).encode(), method="POST")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(request, timeout=10).read()
"""


@pytest.fixture(scope="module")
def acme_challtestsrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookCA]:
    folder = tmp_path_factory.mktemp("pebble")
    with servers.challtestsrv(folder) as dns, servers.pebble(folder, dns.dns_port) as ca:
        yield ca, dns


@pytest.fixture(scope="module")
def acme_bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[servers.Pebble, servers.Bind]]:
    folder = tmp_path_factory.mktemp("pebble-bind")
    with servers.bind9(folder, "lab.example") as dns, servers.pebble(folder, dns.port, eab=True) as ca:
        yield ca, dns


def _hook_config(ca: servers.Pebble, dns: servers.Challtestsrv, tmp_path: Path, roots: Path | None) -> SignerConfig:
    hook = tmp_path / "dns-hook.py"
    hook.write_text(HOOK)
    base = (sys.executable, str(hook))
    spec = AcmeSpec(directory=ca.directory, email="uc-admins@lab.example",
                    dns=DnsCommand(set=(*base, "set-txt", dns.management, "{name}", "{value}"),
                                   clear=(*base, "clear-txt", dns.management, "{name}")))
    return SignerConfig("pebble", "acme", spec, roots=roots, ca_bundle=ca.ca_bundle, timeout=60)


async def test_acme_with_a_dns_hook_ends_proven(lab: LabRig, tmp_path: Path,
                                                acme_challtestsrv: HookCA) -> None:
    ca, dns = acme_challtestsrv
    roots = tmp_path / "pebble-root.pem"
    roots.write_text(ca.root_pem())  # ACME never returns its root: pebble's comes from its management port
    job_id, state = await _renew(lab, _hook_config(ca, dns, tmp_path, roots))
    assert state == "done", Journal.open(job_id).detail
    _proven(lab, job_id)
    _time("acme (dns hook)", job_id)
    job = Journal.open(job_id)
    sign = job.steps[f"obtain_signed:{NODES[0]}"].done["sign"]
    assert sign["order"].startswith(ca.directory.rsplit("/", 1)[0]) and sign["phase"] == "issued"
    chain = pki.load_bundle((job.read_artifact(f"chain-{NODES[0]}.pem") or "").encode(), "t").certificates
    assert pki.is_self_signed(chain[-1])  # the root taken from roots completes the chain
    key = next((Path(os.environ["UCTERM_HOME"]) / "data" / "acme").glob("pebble-*.pem"))
    assert key.stat().st_mode & 0o777 == 0o600


async def test_acme_with_rfc2136_and_eab_ends_proven(lab: LabRig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     acme_bind: tuple[servers.Pebble, servers.Bind]) -> None:
    ca, dns = acme_bind
    monkeypatch.setenv("UCTERM_TEST_TSIG", dns.key_secret)
    monkeypatch.setenv("UCTERM_TEST_EAB", ca.eab_key or "")
    roots = tmp_path / "pebble-root.pem"
    roots.write_text(ca.root_pem())
    spec = AcmeSpec(directory=ca.directory, email="uc-admins@lab.example", eab_kid=ca.eab_kid,
                    eab_hmac_key="env:UCTERM_TEST_EAB",
                    dns=DnsRfc2136(server=servers.LOOPBACK, port=dns.port, key_name=dns.key_name,
                                   key_secret="env:UCTERM_TEST_TSIG"))
    config = SignerConfig("pebble-bind", "acme", spec, roots=roots, ca_bundle=ca.ca_bundle, timeout=60)
    job_id, state = await _renew(lab, config)
    assert state == "done", Journal.open(job_id).detail
    _proven(lab, job_id)
    _time("acme (rfc2136)", job_id)
    _secret_free(lab, job_id, dns.key_secret, ca.eab_key or "")


async def test_acme_check_hook_not_visible_waits(lab: LabRig, tmp_path: Path,
                                                 acme_challtestsrv: HookCA) -> None:
    ca, dns = acme_challtestsrv
    config = _hook_config(ca, dns, tmp_path, None)
    flag = tmp_path / "visible"
    check = tmp_path / "check.py"
    check.write_text(f"import sys, pathlib\nsys.exit(0 if pathlib.Path({str(flag)!r}).exists() else 1)\n")
    assert isinstance(config.spec, AcmeSpec) and isinstance(config.spec.dns, DnsCommand)
    spec = dataclasses.replace(config.spec, dns=dataclasses.replace(
        config.spec.dns, check=(sys.executable, str(check), "{name}")))
    roots = tmp_path / "root.pem"
    roots.write_text(ca.root_pem())
    config = dataclasses.replace(config, spec=spec, roots=roots)
    job_id, state = await _renew(lab, config)
    assert state == "waiting"
    job = Journal.open(job_id)
    # The nodes' obtain steps run side by side: whichever asked first names its record.
    assert "is not visible yet" in job.detail, job.detail
    assert any(f"_acme-challenge.{n}" in job.detail for n in NODES), job.detail
    orders = {n: job.steps[f"obtain_signed:{n}"].intents["sign"]["order"] for n in NODES
              if "sign" in job.steps[f"obtain_signed:{n}"].intents}
    assert orders, job.detail
    flag.write_text("now")
    assert await lab.runner(Journal.open(job_id), signer=build_signer(config)).run() == "done"
    job = Journal.open(job_id)
    for node, order in orders.items():  # the same orders, resumed
        assert job.steps[f"obtain_signed:{node}"].done["sign"]["order"] == order
    _proven(lab, job_id, waited=True)
