"""One node as the client side sees it: where it is, what it runs, and its settings.

Flattened from the inventory once, so that the HTTPS clients, the TLS probe and the session
all take the same small value and none of them needs the others (or the inventory's shape).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ucterm import catalog
from ucterm.inventory import Cluster, Node, Settings

__all__ = ["NodeTarget"]


@dataclass(frozen=True)
class NodeTarget:
    """Everything needed to reach one node, flattened from the inventory."""

    cluster: str
    product: str
    version: catalog.Version | None
    fqdn: str
    address: str
    ports: dict[str, int]
    role: str | None
    settings: Settings
    presence_domains: tuple[str, ...] = field(default=())
    #: How the node's passwords are named in prompts and the prompt cache (its own, or its cluster's).
    os_password_what: str = ""
    app_password_what: str = ""

    def __hash__(self) -> int:
        return hash((self.cluster, self.fqdn))

    @classmethod
    def from_inventory(cls, cluster: Cluster, node: Node) -> NodeTarget:
        ports = {name: node.port(name) for name in catalog.DEFAULT_PORTS}
        return cls(
            cluster=cluster.name,
            product=cluster.product,
            version=cluster.node_version(node),
            fqdn=node.fqdn,
            address=node.address,
            ports=ports,
            role=node.role,
            settings=cluster.settings_for(node),
            presence_domains=cluster.presence_domains,
            os_password_what=cluster.password_what("os_password", node),
            app_password_what=cluster.password_what("app_password", node),
        )

    def port(self, name: str) -> int:
        return self.ports.get(name, catalog.DEFAULT_PORTS[name])

    @property
    def label(self) -> str:
        return f'{self.fqdn} (cluster "{self.cluster}")'
