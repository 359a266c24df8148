"""The TLS side of a scan: what each node actually serves on the ports its units present.

A handshake needs no credentials, so this is also all that is known of a node whose login
failed; and a served certificate that differs from the installed one means a restart is due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509

from ucterm import catalog, pki
from ucterm.inventory import Cluster, Node

if TYPE_CHECKING:
    from ucterm.vos.probe import ProbeResult

__all__ = ["Served", "probe_node"]


@dataclass
class Served:
    """What a node's TLS endpoints present, by unit."""

    certs: dict[str, x509.Certificate] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    answered: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _probe(address: str, port: int, **kwargs: object) -> Awaitable[ProbeResult]:
    """One TLS probe (an indirection so that tests can stand in for the network)."""
    from ucterm.vos.probe import probe

    return probe(address, port, **kwargs)  # type: ignore[arg-type]


async def probe_node(cluster: Cluster, node: Node, version: catalog.Version | None) -> Served:
    """Handshake once with every port that serves a unit's certificate and keep the leaf per unit.

    Ports are probed once each even when several names share a number (certmgr REST and the web
    GUI on one port, as in the lab), and the chain is not verified: expiry of what is served is
    the question here, trust is `ucterm check`'s and the renewal's.
    """
    served = Served()
    by_port: dict[int, tuple[str, list[str]]] = {}
    for spec in catalog.units_for(cluster.product, version):
        for port_name in spec.served_on:
            port = node.port(port_name)
            units = by_port.setdefault(port, (port_name, []))[1]
            if spec.name not in units:
                units.append(spec.name)
    domain = cluster.presence_domains[0] if cluster.presence_domains else node.fqdn.partition(".")[2]
    domain = domain or node.fqdn
    timeout = min(10.0, cluster.settings_for(node).command_timeout)
    ports = list(by_port.items())
    from ucterm.vos.probe import PORT_KINDS  # port name → TLS or XMPP STARTTLS (§2.2)

    results = await asyncio.gather(*(
        _probe(node.address, port, sni=node.fqdn, kind=PORT_KINDS[name],
               xmpp_domain=None if PORT_KINDS[name] == "tls" else domain, timeout=timeout,
               verify_bundle=None)
        for port, (name, _) in ports), return_exceptions=True)
    for (port, (port_name, units)), res in zip(ports, results, strict=True):
        if isinstance(res, BaseException):
            if not isinstance(res, Exception):
                raise res
            served.errors.append(f"{port_name} port {port}: {res}")
            continue
        if not res.ok or not res.chain:
            served.errors.append(f"{port_name} port {port}: {res.error or 'no certificate'}")
            continue
        served.answered = True
        leaf = res.chain[0]
        fp = pki.sha256_hex(leaf)
        for unit in units:
            known = served.fingerprints.get(unit)
            if known is None:
                served.certs[unit] = leaf
                served.fingerprints[unit] = fp
            elif known != fp:
                served.notes.append(f"{unit}: port {port} ({port_name}) serves another certificate "
                                    f"({fp[:16]}…) than its other port ({known[:16]}…)")
    return served
