"""A generated estate for the TUI benchmarks: N CUCM nodes, about 80 certificates each.

    .venv/bin/python bench/estate.py OUT_DIR [--nodes 100]

Writes OUT_DIR/inventory.toml and OUT_DIR/scan.json (the kept-scan form, with PEMs) shaped like a
real estate at scale: clusters of five nodes; per node ten identity certificates (a multi-server
tomcat in every other cluster) and about seventy trust certificates: the corporate CAs every
node trusts, and every node's self-signed certificates published to its cluster's stores (§5.4
replication). Dates spread from expired to twenty years, so every status shows. Real X.509:
the detail pane and the renewal form read the PEMs. One EC key signs everything (speed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from ucterm.scan.model import NodeResult, ScanResult, save_scan  # noqa: E402
from ucterm.scan.rows import RecordMaker  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
UNITS = ("tomcat", "tomcat-ECDSA", "CallManager", "CallManager-ECDSA", "CAPF", "TVS", "ipsec", "ITLRecovery")
VERSIONS = ("14.0.1.13900-155", "15.0.1.11900-40", "12.5.1.16900-48")
#: Corporate CAs in every node's tomcat-trust and CallManager-trust (same certificates estate-wide).
CORPORATE_CAS = 26


def _cert(key: ec.EllipticCurvePrivateKey, cn: str, *, days_left: float, lifetime: int, issuer: str | None = None,
          sans: tuple[str, ...] = (), ca: bool = False) -> x509.Certificate:
    not_after = NOW + days_left * DAY
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
                         x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
                             x509.NameAttribute(NameOID.COMMON_NAME, issuer)]) if issuer else subject
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_after - lifetime * DAY).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
    return builder.sign(key, hashes.SHA256())


def build(nodes: int = 100, cluster_size: int = 5, seed: int = 13) -> tuple[ScanResult, str]:
    rng = random.Random(seed)
    key = ec.generate_private_key(ec.SECP256R1())
    summaries: dict = {}
    cas = [_cert(key, f"Example CA {i:02d}", days_left=rng.choice((-40, 200, 900, 3000, 6000)), lifetime=7300,
                 ca=True) for i in range(CORPORATE_CAS)]
    results: list[NodeResult] = []
    rows = []
    inventory = ['[defaults]', 'os_user = "admin"', 'os_password = "env:UCTERM_BENCH_PASSWORD"',
                 'warn_days = 60', 'crit_days = 14', '']
    n_clusters = (nodes + cluster_size - 1) // cluster_size
    for c in range(n_clusters):
        name = f"cluster{c + 1:02d}"
        version = VERSIONS[c % len(VERSIONS)]
        fqdns = [f"c{c + 1:02d}-{'pub' if i == 0 else f'sub{i}'}.example.com"
                 for i in range(min(cluster_size, nodes - c * cluster_size))]
        inventory += ['[[cluster]]', f'name = "{name}"', 'product = "cucm"', f'version = "{version}"', '']
        for i, fqdn in enumerate(fqdns):
            inventory += ['[[cluster.node]]', f'fqdn = "{fqdn}"', f'address = "10.{c}.0.{i + 1}"',
                          f'role = "{"publisher" if i == 0 else "subscriber"}"', '']
        multi = (_cert(key, f"c{c + 1:02d}-pub-ms.example.com", days_left=rng.choice((-5, 6, 20, 45, 400)),
                       lifetime=730, issuer="Example CA 00", sans=tuple(fqdns)) if c % 2 == 0 else None)
        own: dict[str, dict[str, x509.Certificate]] = {}
        for fqdn in fqdns:
            own[fqdn] = {}
            for unit in UNITS:
                if unit == "tomcat" and multi is not None:
                    own[fqdn][unit] = multi
                    continue
                days = rng.choice((-12, 3, 25, 50, 300, 700, 1200, 1700)) if unit in ("tomcat", "CallManager") \
                    else rng.uniform(600, 1500)
                own[fqdn][unit] = _cert(key, fqdn if unit != "ITLRecovery" else f"ITLRECOVERY_{fqdn}",
                                        days_left=days, lifetime=1825, sans=(fqdn,))
        for i, fqdn in enumerate(fqdns):
            maker = RecordMaker(name, fqdn, 60, 14, NOW, summaries)
            for unit, cert in own[fqdn].items():
                rows.append(maker.record(cert, unit=unit, store="own", source="rest" if c % 3 != 2 else "cli",
                                         file=f"{unit}/{unit}.pem"))
            for store in ("tomcat-trust", "CallManager-trust"):
                for ca in cas:
                    rows.append(maker.record(ca, unit=store[:-6], store=store, source="rest",
                                             file=f"{store}/{ca.subject.rfc4514_string()}.pem"))
            for peer in fqdns:  # every node's self-signed certificates, published to the cluster's stores
                for unit in ("TVS", "ipsec", "CAPF", "ITLRecovery"):
                    store = f"{unit}-trust"
                    rows.append(maker.record(own[peer][unit], unit=unit, store=store, source="rest",
                                             file=f"{store}/{peer}.pem"))
            served = {"tomcat": own[fqdn]["tomcat"].fingerprint(hashes.SHA256()).hex()}
            results.append(NodeResult(name, fqdn, "cucm", "publisher" if i == 0 else "subscriber", version, True,
                                      served=served))
    return ScanResult(generated_at=NOW, nodes=tuple(results), certificates=tuple(rows)), "\n".join(inventory)


def write(folder: Path, nodes: int = 100) -> tuple[Path, Path, int]:
    """Write the estate; returns (inventory, scan file, certificate rows)."""
    folder.mkdir(parents=True, exist_ok=True)
    scan, inventory = build(nodes)
    (folder / "inventory.toml").write_text(inventory)
    save_scan(scan, folder / "scan.json")
    return folder / "inventory.toml", folder / "scan.json", len(scan.certificates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--nodes", type=int, default=100)
    args = parser.parse_args(argv)
    inventory, scan, count = write(args.folder, args.nodes)
    print(f"wrote {inventory} and {scan} ({count} certificate rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
