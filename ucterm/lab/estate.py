"""`LabEstate`: an estate of simulated VOS nodes on 127.0.0.1, for `ucterm demo`, rehearsals and tests.

    async with LabEstate.demo(profile="fast") as estate:
        node = estate.node("cucm14-pub.lab.example")
        ... ssh to 127.0.0.1:node.ports["ssh"] as estate.credentials.os_user ...
        estate.write_inventory(tmp / "inventory.toml")

Everything listens on 127.0.0.1 only. The credentials are fixed, documented lab values
(:data:`CREDENTIALS`): OS administrator `admin` / `ucterm-lab-os`, application user
`axladmin` / `ucterm-lab-axl`.

It also runs the enterprise CA's web enrollment (:mod:`ucterm.lab.adcs`, AD CS `/certsrv` with
NTLM and Extended Protection) on its own port, signed by the lab CA, and the inventory it
writes names it as the signer "corp-adcs" (enrollment account `LAB\\ucterm-enroll` /
`ucterm-lab-adcs`), so the demo shows a renewal "signed by corp CA" with no file carried by hand.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import asyncssh

from ucterm import catalog
from ucterm.files import atomic_write, write_toml
from ucterm.lab import adcs, certs, layouts
from ucterm.lab.ca import LabCA
from ucterm.lab.clock import LabClock
from ucterm.lab.cluster import LabCluster, PresenceRedundancyGroup
from ucterm.lab.credentials import CREDENTIALS, LabCredentials
from ucterm.lab.errors import LabError
from ucterm.lab.keys import KeySource
from ucterm.lab.node import Identity, LabNode
from ucterm.lab.profiles import Profile, get_profile
from ucterm.lab.server import LOOPBACK, NodeServer

#: The folder beside a written inventory that holds the lab CA (inventory setting `lab_ca`).
LAB_CA_FOLDER = "lab-ca-signer"

#: Spare fresh RSA-2048 keys made (or loaded from the cache) at construction: the first CSRs and
#: regenerations then get a key at once. CSR keys beyond them are made in a worker thread
#: (LabNode.new_csr_key); `set cert regen` still makes its key on the loop (~50 ms for RSA-2048).
_CSR_KEY_RESERVE = 12


class LabEstate:
    """Clusters of simulated nodes, a lab CA, and their sockets (see the module docstring)."""

    def __init__(self, spec: layouts.EstateSpec, *, profile: str | Profile = "demo", now: datetime | None = None,
                 keys: KeySource | None = None) -> None:
        self.spec = spec
        self.profile = get_profile(profile)
        self.clock = LabClock(now)
        self.keys = keys or KeySource(recycle=spec.recycle_keys)
        self.credentials = CREDENTIALS
        self.ca = LabCA(self.keys, self.clock)
        #: The enterprise CA's web enrollment (AD CS), listening once the estate starts.
        self.web_enrollment = adcs.LabWebEnrollment(self.ca, self.keys, self.clock)
        self.clusters: list[LabCluster] = []
        self.nodes: list[LabNode] = []
        self._by_fqdn: dict[str, LabNode] = {}
        for cluster_spec in spec.clusters:
            self._build_cluster(cluster_spec)
        self._host_keys = {n.fqdn: asyncssh.generate_private_key("ssh-ed25519") for n in self.nodes}
        self._servers: dict[str, NodeServer] = {}
        self.keys.reserve(_CSR_KEY_RESERVE)
        self.keys.pool.save()

    # ---- construction ------------------------------------------------------------------------

    @classmethod
    def demo(cls, profile: str | Profile = "demo", now: datetime | None = None) -> LabEstate:
        """The demo estate: hq (CUCM 14), branch (CUCM 12.5), presence (IM&P 14 HA), voicemail (CUC 15)."""
        return cls(layouts.demo_spec(), profile=profile, now=now)

    @classmethod
    def scaled(cls, n_nodes: int, profile: str | Profile = "realistic", now: datetime | None = None) -> LabEstate:
        """`n_nodes` CUCM nodes in clusters of five, for the scan benchmark."""
        return cls(layouts.scaled_spec(n_nodes), profile=profile, now=now)

    def _build_cluster(self, spec: layouts.ClusterSpec) -> None:
        cluster = LabCluster(spec.name, spec.product, spec.version, spec.presence_domains, spec.group_chat_alias,
                             spec.cucm_cluster, find_node=self._by_fqdn.get, all_clusters=lambda: self.clusters)
        if spec.presence_redundancy_group:
            cluster.prg = PresenceRedundancyGroup(spec.presence_redundancy_group, spec.ha_enabled)
        self.clusters.append(cluster)
        zone = _zone(spec.zone)
        for node_spec in spec.nodes:
            node = LabNode(fqdn=f"{node_spec.hostname}.{self.spec.domain}", cluster=cluster, role=node_spec.role,
                           profile=self.profile, clock=self.clock, keys=self.keys,
                           password_auth=node_spec.password_auth, cert_list_format=node_spec.cert_list_format,
                           quirks=node_spec.quirks, zone=zone)
            self.nodes.append(node)
            self._by_fqdn[node.fqdn.lower()] = node
            self._set_services(node, node_spec)
        for store in spec.ca_trust:
            for node in cluster.nodes:
                node.add_trust(store, self.ca.root)
                node.add_trust(store, self.ca.intermediate)
        for store in spec.old_ca_trust:
            for node in cluster.nodes:
                node.add_trust(store, self.ca.old_root)
        self._build_identities(cluster, spec)

    @staticmethod
    def _set_services(node: LabNode, spec: layouts.NodeSpec) -> None:
        for service in node.services():
            if service.name in spec.not_activated or (
                    not node.is_publisher and service.name in layouts.PUBLISHER_ONLY_SERVICES):
                service.activated = False
                service.status = "STOPPED"
            if service.name in spec.out_of_service:
                service.status = "STOPPED"
                service.commanded_out = True

    def _build_identities(self, cluster: LabCluster, spec: layouts.ClusterSpec) -> None:
        now = self.clock.now()
        node_specs = {f"{n.hostname}.{self.spec.domain}": n for n in spec.nodes}
        shared: dict[str, Identity] = {}
        for node in cluster.nodes:
            for unit in node.units:
                plan = node_specs[node.fqdn].certs.get(unit) or spec.certs.get(unit) or _default_plan(node, unit)
                end = now + timedelta(days=plan.days_left)
                start = end - timedelta(days=plan.lifetime)
                if plan.signer == "self":
                    algorithm = catalog.unit_spec(unit).key_algorithm
                    node.install_identity(unit, node.self_signed_identity(
                        unit, key=self.keys.identity(algorithm), not_before=start, days=plan.lifetime))
                    continue
                if plan.multi_server and unit in shared:
                    node.install_identity(unit, shared[unit])
                    continue
                identity = self._ca_identity(cluster.publisher if plan.multi_server else node, unit, plan, start, end)
                if plan.multi_server:
                    shared[unit] = identity
                node.install_identity(unit, identity)

    def _ca_identity(self, node: LabNode, unit: str, plan: layouts.CertPlan, start: datetime,
                     end: datetime) -> Identity:
        algorithm = catalog.unit_spec(unit).key_algorithm
        key = self.keys.identity(algorithm)
        sans = node.cluster_ref.fqdns() if plan.multi_server and node.product == "cucm" else None
        csr_pem = node.generate_csr(unit, key=key, multi_server=plan.multi_server, sans=sans)
        node.discard_csr(unit)
        leaf, chain = self.ca.issue(certs.load_csr(csr_pem), not_before=start, not_after=end)
        return Identity(leaf, key, (chain[0],), plan.multi_server)

    # ---- lookup ------------------------------------------------------------------------------

    def node(self, fqdn: str) -> LabNode:
        """A node by FQDN or host name; LabError naming the known nodes otherwise."""
        node = self._by_fqdn.get(fqdn.lower()) or self._by_fqdn.get(f"{fqdn}.{self.spec.domain}".lower())
        if node is None:
            raise LabError(f'the lab has no node "{fqdn}"; its nodes are '
                           + ", ".join(n.fqdn for n in self.nodes) + ".")
        return node

    def cluster(self, name: str) -> LabCluster:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise LabError(f'the lab has no cluster "{name}"; its clusters are '
                       + ", ".join(c.name for c in self.clusters) + ".")

    def set_credentials(self, fqdn: str, credentials: LabCredentials) -> None:
        """Give one node its own administrator and application user (VOS lets each node have its own
        platform administrator); the inventory written afterwards names them on that node."""
        self.node(fqdn).credentials = credentials

    def set_ha(self, prg_name: str, enabled: bool) -> None:
        """Enable or disable High Availability of a Presence Redundancy Group (AXL `haEnabled`, §4.3)."""
        for cluster in self.clusters:
            if cluster.prg is not None and cluster.prg.name == prg_name:
                cluster.prg.set_enabled(enabled, self.profile.ha_settle)
                return
        raise LabError(f'the lab has no presence redundancy group "{prg_name}".')

    # ---- running -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return bool(self._servers)

    async def start(self) -> None:
        """Bind every node's ports on 127.0.0.1 and start serving."""
        if self._servers:
            return
        for node in self.nodes:
            self._servers[node.fqdn] = NodeServer(node, self._host_keys[node.fqdn])
        try:
            await asyncio.gather(*(s.start() for s in self._servers.values()))
            await self.web_enrollment.start()
        except BaseException:
            await self.stop()
            raise
        from ucterm.lab.network import install_endpoints  # the TLS ports and HTTPS APIs on top of the state

        install_endpoints(self)

    async def stop(self) -> None:
        """Close every socket and cancel every timer and Service Manager operation still running
        (restarts, starts, stops run on node tasks that outlive their callers); the estate can be
        started again."""
        servers = list(self._servers.values())
        self._servers = {}
        await asyncio.gather(*(s.stop() for s in servers), return_exceptions=True)
        await self.web_enrollment.stop()
        for node in self.nodes:
            node.cancel_tasks()
        self.keys.pool.save()

    async def __aenter__(self) -> LabEstate:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every socket the estate listens on (all on 127.0.0.1)."""
        return [address for server in self._servers.values() for address in server.addresses()]

    def _server(self, fqdn: str) -> NodeServer:
        node = self.node(fqdn)
        server = self._servers.get(node.fqdn)
        if server is None:
            raise LabError("the lab estate is not running; start it first (await estate.start()).")
        return server

    async def take_down(self, fqdn: str) -> None:
        """The node goes down: every connection closes and every port refuses connections."""
        await self._server(fqdn).stop(state="down")

    async def bring_up(self, fqdn: str) -> None:
        """The node comes back on the same ports."""
        server = self._server(fqdn)
        if not server.running:
            await server.start()

    async def filter_port(self, fqdn: str, name: str) -> int:
        """A firewall refuses port `name` of the node (see NodeServer.filter); returns the number it
        refuses on. `rest` then has a number of its own: write the inventory after filtering it."""
        server = self._server(fqdn)
        await server.filter(name)
        return server.node.ports[name]

    async def unfilter_port(self, fqdn: str, name: str) -> None:
        await self._server(fqdn).unfilter(name)

    # ---- files for clients -------------------------------------------------------------------

    def known_hosts_lines(self) -> list[str]:
        """OpenSSH known_hosts entries, `[fqdn]:port,[127.0.0.1]:port ssh-ed25519 ...` (needs ports)."""
        self._require_ports()
        lines = []
        for node in self.nodes:
            public = self._host_keys[node.fqdn].export_public_key("openssh").decode("ascii").split()
            port = node.ports["ssh"]
            lines.append(f"[{node.fqdn}]:{port},[{LOOPBACK}]:{port} {public[0]} {public[1]}")
        return lines

    def ca_bundle_pem(self) -> str:
        """The lab root CA and every self-signed identity certificate, for TLS verification by FQDN."""
        pems = [certs.cert_pem(self.ca.root)]
        seen = {certs.fingerprint(self.ca.root)}
        for node in self.nodes:
            for identity in node.identities().values():
                fp = certs.fingerprint(identity.cert)
                if identity.self_signed and fp not in seen:
                    seen.add(fp)
                    pems.append(certs.cert_pem(identity.cert))
        return "".join(pems)

    def inventory_document(self) -> dict[str, Any]:
        """The inventory (design.md §3) describing this estate, with the lab credentials inline."""
        self._require_ports()
        creds = self.credentials
        document: dict[str, Any] = {
            "defaults": {"os_user": creds.os_user, "os_password": creds.os_password,
                         "app_user": creds.app_user, "app_password": creds.app_password,
                         "known_hosts": "known_hosts", "ca_bundle": "lab-ca.pem", "lab_ca": LAB_CA_FOLDER},
            "cluster": [],
        }
        for cluster in self.clusters:
            entry: dict[str, Any] = {"name": cluster.name, "product": cluster.product, "version": cluster.version}
            if cluster.presence_domains:
                entry["presence_domains"] = list(cluster.presence_domains)
            if cluster.group_chat_alias:
                entry["group_chat_alias"] = cluster.group_chat_alias
            if cluster.cucm_cluster:
                entry["cucm_cluster"] = cluster.cucm_cluster
            if cluster.prg is not None:
                entry["presence_redundancy_group"] = cluster.prg.name
            entry["node"] = [{"fqdn": n.fqdn, "address": LOOPBACK, "role": n.role,
                              "ports": {name: n.ports[name] for name in n.port_names}, **_own_credentials(n, creds)}
                             for n in cluster.nodes]
            document["cluster"].append(entry)
        document["signer"] = [self.signer_table()]
        return document

    #: The name of the lab's AD CS signer in the inventory it writes.
    SIGNER = "corp-adcs"

    def signer_table(self) -> dict[str, Any]:
        """The `[[signer]]` table of the lab's AD CS web enrollment (design.md §3), lab password inline."""
        site = self.web_enrollment
        return {"name": self.SIGNER, "kind": "adcs", "url": site.url, "template": "CiscoUCServerClient",
                "auth": "ntlm", "user": f"{adcs.DOMAIN}\\{adcs.USER}", "password": adcs.PASSWORD,
                "ca_bundle": "lab-ca.pem"}

    def write_inventory(self, path: Path | str) -> Path:
        """Write the inventory (0600: it holds the lab passwords) and beside it `known_hosts`,
        `lab-ca.pem` (the bundle to verify TLS with) and the lab CA folder (`lab_ca`, for
        `ucterm renew --lab-ca` in another process, see :func:`ucterm.lab.load_ca`)."""
        target = Path(path)
        self.ca.save(target.parent / LAB_CA_FOLDER)
        write_toml(target, self.inventory_document(), mode=0o600)
        atomic_write(target.parent / "known_hosts", ("\n".join(self.known_hosts_lines()) + "\n").encode(),
                     mode=0o600)
        atomic_write(target.parent / "lab-ca.pem", self.ca_bundle_pem().encode("ascii"), mode=0o644)
        return target

    def _require_ports(self) -> None:
        if not self._servers:
            raise LabError("the lab estate is not running, so its ports are not known yet; "
                           "start it first (await estate.start()).")


def _own_credentials(node: LabNode, defaults: LabCredentials) -> dict[str, str]:
    """The inventory fields of a node whose credentials are not the estate's (design.md §3)."""
    own = node.credentials
    fields = {"os_user": own.os_user, "os_password": own.os_password, "app_user": own.app_user,
              "app_password": own.app_password}
    return {k: v for k, v in fields.items() if v != getattr(defaults, k)}


def _default_plan(node: LabNode, unit: str) -> layouts.CertPlan:
    """Self-signed and fine, with a spread of dates so the estate does not look machine-made."""
    days = 600 + node.rng.randint(0, 900)
    return layouts.CertPlan(days_left=days, lifetime=1825 if days < 1700 else days + 100)


def _zone(name: str) -> tzinfo | None:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:
        return None
