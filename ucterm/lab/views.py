"""Read-only VOS outputs of a node: `show ...`, `utils service list`, `utils ha status`.

Pure functions from node state to the lines VOS prints (texts from :mod:`ucterm.lab.texts`),
so the HTTPS faces added later can reuse the same views where VOS shows the same data.
"""

from __future__ import annotations

from cryptography import x509

from ucterm.lab import certs, texts
from ucterm.lab.errors import VosError
from ucterm.lab.node import LabNode


def version_active(node: LabNode) -> list[str]:
    return [texts.VERSION_ACTIVE.format(version=node.version), texts.VERSION_OPTIONS, texts.VERSION_NO_OPTIONS]


def network_cluster(node: LabNode) -> list[str]:
    """Every node of the node's cluster and of the linked CUCM / IM&P cluster (§1.10)."""
    clusters = [node.cluster_ref, *node.cluster_ref.linked()]
    clusters.sort(key=lambda c: c.product != "cucm")
    rows: list[str] = []
    fqdns: list[str] = []
    for cluster in clusters:
        for member in cluster.nodes:
            # IM&P nodes are subscribers of the CUCM cluster, their DB publisher included (§1.10).
            role = "Publisher" if member.is_publisher and member.product != "imp" else "Subscriber"
            rows.append(texts.NETWORK_CLUSTER_ROW.format(
                ip="127.0.0.1", fqdn=member.fqdn, host=member.hostname, role=role,
                product_type=texts.PRODUCT_TYPE[member.product],
                db_role="DBPub" if member.is_publisher else "DBSub",
                since=texts.ctime_date(member.up_since, node.zone)))
            fqdns.append(member.fqdn)
    return [*rows, "", *texts.NETWORK_CLUSTER_SERVER_TABLE, *fqdns, "", texts.NETWORK_CLUSTER_DONE]


def cert_list(node: LabNode, kind: str) -> list[str]:
    """`show cert list own|trust` in the node's format (single-line, or the block format of §1.5)."""
    if kind == "own":
        entries = []
        for unit, identity in node.identities().items():
            issuer = certs.common_name(identity.cert.issuer)
            entries.append((unit, "own", unit, identity, issuer))
        if node.cert_list_format == "block":
            return _blocks([(u, t, n, i.cert) for u, t, n, i, _ in entries])
        return [texts.CERT_LIST_OWN_SELF.format(unit=u) if i.self_signed else
                texts.CERT_LIST_OWN_CA.format(unit=u, issuer=issuer) for u, _, _, i, issuer in entries]
    trust = node.trust_entries()
    if node.cert_list_format == "block":
        return _blocks([(e.store, "trust", e.name.removesuffix(".pem"), e.cert) for e in trust])
    return [texts.CERT_LIST_TRUST.format(store=e.store, name=e.name, description=e.description) for e in trust]


def _blocks(rows: list[tuple[str, str, str, x509.Certificate]]) -> list[str]:
    lines: list[str] = []
    for unit, kind, name, cert in rows:
        values = {"unit": unit, "type": kind, "name": name, "issuer": cert.issuer.rfc4514_string(),
                  "expires": texts.block_expires(cert.not_valid_after_utc)}
        if lines:
            lines.append("")
        lines += [line.format(**values) for line in texts.CERT_LIST_BLOCK]
    return lines


def cert_own(node: LabNode, argument: str) -> list[str]:
    """`show cert own tomcat` or `show cert own tomcat/tomcat.pem` (§1.6)."""
    unit = node.unit(argument)
    identity = node.identities().get(unit)
    if identity is None:
        raise VosError(texts.CERT_NOT_FOUND.format(name=argument), texts.COMMAND_FAILED)
    return texts.cert_dump(identity.cert, node.zone)


def cert_trust(node: LabNode, path: str) -> list[str]:
    """`show cert trust tomcat-trust/<file>.pem` (§1.6)."""
    entry = node.trust_entry(path) or node.trust_entry(path + ".pem")
    if entry is None:
        raise VosError(texts.CERT_NOT_FOUND.format(name=path), texts.COMMAND_FAILED)
    return texts.cert_dump(entry.cert, node.zone)


def web_security(node: LabNode) -> list[str]:
    """`show web-security`: the tomcat certificate, dumped as `show cert own tomcat` (§1.2 assumption)."""
    return cert_own(node, "tomcat")


def csr_list(node: LabNode) -> list[str]:
    return [texts.CSR_LIST_ROW.format(unit=p.unit) for p in node.csrs()]


def csr_own(node: LabNode, argument: str) -> list[str]:
    """`show csr own tomcat` or `show csr own tomcat/tomcat.csr` (§1.4)."""
    return node.csr_text(argument).strip().splitlines()


def service_list(node: LabNode) -> list[str]:
    """`utils service list` (§1.9)."""
    lines = list(texts.SERVICE_LIST_HEAD)
    for service in node.services():
        if not service.activated:
            lines.append(texts.SERVICE_ROW.format(name=service.name, status="STOPPED")
                         + "  " + texts.SERVICE_NOT_ACTIVATED)
        elif service.commanded_out and service.status == "STOPPED":
            lines.append(texts.SERVICE_ROW.format(name=service.name, status="STOPPED")
                         + "  " + texts.SERVICE_OUT_OF_SERVICE)
        else:
            lines.append(texts.SERVICE_ROW.format(name=service.name, status=service.status))
    return lines


def ha_status(node: LabNode) -> list[str]:
    """`utils ha status` on IM&P (§1.10): one line per node of the presence redundancy group."""
    prg = node.cluster_ref.prg
    if node.product != "imp" or prg is None:
        raise VosError(texts.HA_NOT_PRESENCE, texts.COMMAND_FAILED)
    lines = [texts.HA_SUBCLUSTER.format(name=prg.name)]
    for index, member in enumerate(node.cluster_ref.nodes, start=1):
        if prg.state == "disabled":
            lines.append(texts.HA_NODE_REASON.format(index=index, host=member.hostname,
                                                     state=texts.HA_STATE_UNKNOWN,
                                                     reason=texts.HA_REASON_NOT_ENABLED))
        elif prg.state == "initializing":
            lines.append(texts.HA_NODE.format(index=index, host=member.hostname,
                                              state=texts.HA_STATE_INITIALIZING))
        else:
            lines.append(texts.HA_NODE.format(index=index, host=member.hostname, state=texts.HA_STATE_NORMAL))
    return lines

