"""What an estate contains: clusters, nodes, and the state of each certificate at start.

The demo estate shows the whole product in a minute: one cluster of each kind, certificates
that are expired, due in days, due in weeks and fine, self-signed and CA-signed, single- and
multi-server, an IM&P HA pair, and the quirks a client must survive. Validity is given as days
left relative to the estate's clock, so that an injected `now` makes every run identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ucterm.lab.node import NodeQuirks, Role

DOMAIN = "lab.example"


@dataclass(frozen=True)
class CertPlan:
    """A unit's identity certificate at start."""

    signer: Literal["self", "ca"] = "self"
    #: Days until notAfter (negative: already expired).
    days_left: float = 1400
    #: Total validity in days (notBefore = notAfter - lifetime).
    lifetime: int = 1825
    #: One certificate for every node of the cluster (CA-signed only).
    multi_server: bool = False


@dataclass(frozen=True)
class NodeSpec:
    hostname: str
    role: Role
    password_auth: bool = True
    quirks: NodeQuirks = field(default_factory=NodeQuirks)
    #: Per-node certificate plans (override the cluster's).
    certs: Mapping[str, CertPlan] = field(default_factory=dict)
    #: Services stopped by an administrator (`Commanded Out of Service`).
    out_of_service: tuple[str, ...] = ()
    #: Services never activated on this node (besides the publisher-only ones on subscribers).
    not_activated: tuple[str, ...] = ()
    cert_list_format: Literal["line", "block"] = "line"


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    product: str
    version: str
    nodes: tuple[NodeSpec, ...]
    #: Per-unit certificate plans for every node of the cluster.
    certs: Mapping[str, CertPlan] = field(default_factory=dict)
    #: Trust stores holding the lab root and issuing CA.
    ca_trust: tuple[str, ...] = ()
    #: Trust stores that still hold the lab's expired old root.
    old_ca_trust: tuple[str, ...] = ()
    presence_domains: tuple[str, ...] = ()
    group_chat_alias: str | None = None
    cucm_cluster: str | None = None
    presence_redundancy_group: str | None = None
    ha_enabled: bool = True
    zone: str = "America/Los_Angeles"


@dataclass(frozen=True)
class EstateSpec:
    clusters: tuple[ClusterSpec, ...]
    domain: str = DOMAIN
    #: Let identity keys repeat after this many (large estates only, see keys.KeySource).
    recycle_keys: int | None = None


#: Services that run on the publisher only (§3: DRF Master and CAPF are restarted there only).
PUBLISHER_ONLY_SERVICES = ("Cisco DRF Master", "Cisco Certificate Authority Proxy Function")


def demo_spec() -> EstateSpec:
    """The demo estate of `ucterm demo` (see the module docstring)."""
    tomcat_quirk = NodeQuirks(tomcat_never_prints_started=True)
    hq = ClusterSpec(
        "hq", "cucm", "14.0.1.13900-155",
        (NodeSpec("cucm14-pub", "publisher"),
         NodeSpec("cucm14-sub1", "subscriber"),
         NodeSpec("cucm14-sub2", "subscriber", quirks=tomcat_quirk,
                  certs={"ipsec": CertPlan(days_left=-12)})),
        certs={"tomcat": CertPlan("ca", days_left=40, lifetime=730, multi_server=True),
               "CallManager": CertPlan(days_left=930), "ITLRecovery": CertPlan(days_left=6900, lifetime=7300)},
        ca_trust=("tomcat-trust",), old_ca_trust=("tomcat-trust",))
    branch = ClusterSpec(
        "branch", "cucm", "12.5.1.16900-48",
        (NodeSpec("cucm125-pub", "publisher", password_auth=False,
                  certs={"tomcat": CertPlan(days_left=-3)}),
         NodeSpec("cucm125-sub1", "subscriber", password_auth=False,
                  not_activated=("Cisco Extension Mobility",))),
        certs={"CallManager": CertPlan("ca", days_left=6, lifetime=730), "tomcat": CertPlan(days_left=210)},
        ca_trust=("CallManager-trust",), zone="America/Chicago")
    presence = ClusterSpec(
        "presence", "imp", "14.0.1.13900-8",
        (NodeSpec("imp14-pub", "publisher"),
         NodeSpec("imp14-sub1", "subscriber", out_of_service=("Cisco XCP Text Conference Manager",))),
        certs={"cup-xmpp": CertPlan("ca", days_left=300, lifetime=730, multi_server=True),
               "cup": CertPlan("ca", days_left=25, lifetime=730),
               "cup-xmpp-s2s": CertPlan(days_left=700), "tomcat": CertPlan(days_left=500)},
        ca_trust=("cup-xmpp-trust", "cup-trust"), presence_domains=(DOMAIN,),
        group_chat_alias=f"conference.{DOMAIN}", cucm_cluster="hq", presence_redundancy_group="DefaultCluster")
    voicemail = ClusterSpec(
        "voicemail", "cuc", "15.0.1.10000-34",
        (NodeSpec("cuc15-pub", "publisher", certs={"tomcat": CertPlan("ca", days_left=10, lifetime=730)}),
         NodeSpec("cuc15-sub", "subscriber", quirks=tomcat_quirk, certs={"tomcat": CertPlan(days_left=800)})),
        ca_trust=("tomcat-trust",), zone="America/New_York")
    return EstateSpec((hq, branch, presence, voicemail))


_SCALED_VERSIONS = ("14.0.1.13900-155", "15.0.1.11900-40", "12.5.1.16900-48")
#: Days left of each scaled cluster's tomcat: expired, critical, warning and fine ones.
_SCALED_TOMCAT_DAYS = (-5, 6, 20, 45, 120, 400, 700, 900)


def scaled_spec(n_nodes: int, cluster_size: int = 5) -> EstateSpec:
    """`n_nodes` CUCM nodes in clusters of `cluster_size` (publisher + subscribers), for benchmarks."""
    if n_nodes < 1:
        raise ValueError("a scaled estate needs at least one node")
    clusters = []
    index = 0
    remaining = n_nodes
    while remaining > 0:
        index += 1
        size = min(cluster_size, remaining)
        remaining -= size
        prefix = f"c{index:02d}"
        nodes = tuple(NodeSpec(f"{prefix}-pub" if i == 0 else f"{prefix}-sub{i}",
                               "publisher" if i == 0 else "subscriber") for i in range(size))
        days = _SCALED_TOMCAT_DAYS[(index - 1) % len(_SCALED_TOMCAT_DAYS)]
        clusters.append(ClusterSpec(
            f"cluster{index:02d}", "cucm", _SCALED_VERSIONS[(index - 1) % len(_SCALED_VERSIONS)], nodes,
            certs={"tomcat": CertPlan("ca", days_left=days, lifetime=730)}, ca_trust=("tomcat-trust",)))
    return EstateSpec(tuple(clusters), recycle_keys=48)
