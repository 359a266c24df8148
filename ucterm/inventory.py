"""The inventory: clusters, nodes and credential references (TOML, design.md §3).

Loaded with tomllib, written with tomli-w. Every error is one sentence that names the file, the
line where it can be found, the cluster or node, and the field, because the person reading it is
usually fixing the file at night in a terminal editor.

Credentials are *references* (`env:NAME`, `keyring:SERVICE`, `prompt`); resolving them is the job
of :mod:`ucterm.credentials`. A literal password is accepted only from a file that nobody but its
owner can read, and even then it is reported as a warning.
"""

from __future__ import annotations

import re
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ucterm import catalog, paths
from ucterm.errors import InventoryError

TRANSPORTS = ("auto", "cli", "rest")
ROLES = ("publisher", "subscriber")

#: Keys allowed in [defaults] and, as overrides, in each [[cluster]].
SETTING_KEYS: dict[str, type | tuple[type, ...]] = {
    "os_user": str,
    "os_password": str,
    "app_user": str,
    "app_password": str,
    "warn_days": int,
    "crit_days": int,
    "known_hosts": str,
    "trust_on_first_use": bool,
    "transport": str,
    "ca_bundle": str,
    "lab_ca": str,
    "read_only": bool,
    "banner_timeout": (int, float),
    "command_timeout": (int, float),
}
CLUSTER_KEYS = {"name", "product", "version", "node", "presence_domains", "email_domains",
                "group_chat_alias", "federation_wildcard", "cucm_cluster", "presence_redundancy_group",
                "mixed_mode"}
NODE_KEYS = {"fqdn", "address", "role", "ports", "version", "hostname"}


def is_reference(value: str) -> bool:
    """True for `env:NAME`, `keyring:SERVICE` and `prompt`: values that are not the secret itself."""
    return value == "prompt" or value.startswith(("env:", "keyring:"))


@dataclass(frozen=True)
class Settings:
    """[defaults] merged with a cluster's overrides."""

    os_user: str = "admin"
    # A reference (env:/keyring:/prompt) or, from an owner-only file, the password itself: never in a
    # repr, which a crash report (Textual prints tracebacks with their locals) would show.
    os_password: str = field(default="prompt", repr=False)
    app_user: str | None = None
    app_password: str | None = field(default=None, repr=False)
    warn_days: int = 60
    crit_days: int = 14
    known_hosts: Path | None = None
    trust_on_first_use: bool = False
    transport: str = "auto"
    ca_bundle: Path | None = None
    #: The lab's CA folder (written by `ucterm lab --write-inventory`): lets `renew --lab-ca` sign.
    lab_ca: Path | None = None
    read_only: bool = False
    banner_timeout: float = 120.0
    command_timeout: float = 120.0

    @property
    def known_hosts_path(self) -> Path:
        return self.known_hosts or paths.default_known_hosts()


@dataclass(frozen=True)
class Node:
    fqdn: str
    address: str
    role: str | None = None
    ports: dict[str, int] = field(default_factory=dict)
    version: str | None = None

    def port(self, name: str) -> int:
        return self.ports.get(name, catalog.DEFAULT_PORTS[name])

    @property
    def hostname(self) -> str:
        return self.fqdn.split(".", 1)[0]

    @property
    def is_publisher(self) -> bool:
        return self.role == "publisher"


@dataclass(frozen=True)
class Cluster:
    name: str
    product: str
    nodes: tuple[Node, ...]
    settings: Settings
    version: str | None = None
    presence_domains: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    group_chat_alias: str | None = None
    federation_wildcard: bool = False
    cucm_cluster: str | None = None
    presence_redundancy_group: str | None = None
    mixed_mode: bool = False

    @property
    def publisher(self) -> Node:
        for n in self.nodes:
            if n.is_publisher:
                return n
        return self.nodes[0]

    @property
    def subscribers(self) -> tuple[Node, ...]:
        pub = self.publisher
        return tuple(n for n in self.nodes if n is not pub)

    def ordered_nodes(self) -> tuple[Node, ...]:
        """Publisher first, then subscribers in file order: the order restarts must follow."""
        return (self.publisher, *self.subscribers)

    def node(self, fqdn: str) -> Node:
        for n in self.nodes:
            if n.fqdn.lower() == fqdn.lower() or n.hostname.lower() == fqdn.lower():
                return n
        raise InventoryError(f'cluster "{self.name}" has no node "{fqdn}"; the nodes are '
                             + ", ".join(n.fqdn for n in self.nodes) + ".")

    def node_version(self, node: Node) -> catalog.Version | None:
        return catalog.parse_version(node.version or self.version)


@dataclass(frozen=True)
class Inventory:
    path: Path | None
    defaults: Settings
    clusters: tuple[Cluster, ...]
    warnings: tuple[str, ...] = ()
    #: The raw [defaults] table as written (so saving keeps what the user wrote, not the merged view).
    raw_defaults: dict[str, Any] = field(default_factory=dict, repr=False)

    def cluster(self, name: str) -> Cluster:
        for c in self.clusters:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.clusters) or "none"
        raise InventoryError(f'{self._where()}has no cluster "{name}"; the clusters are: {known}.')

    def nodes(self) -> Iterator[tuple[Cluster, Node]]:
        for c in self.clusters:
            for n in c.ordered_nodes():
                yield c, n

    def _where(self) -> str:
        return f"{self.path} " if self.path else "the inventory "


# --------------------------------------------------------------------------------------------
# Loading


class _Context:
    """Builds error sentences that point at the file and, where it can be found, the line."""

    def __init__(self, path: Path | None, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, *needles: str, after: int = 0) -> int | None:
        for i, line in enumerate(self.lines[after:], start=after + 1):
            stripped = line.split("#", 1)[0]
            if all(n in stripped for n in needles):
                return i
        return None

    def error(self, message: str, *needles: str, after: int = 0) -> InventoryError:
        line = self.line_of(*needles, after=after) if needles else None
        where = str(self.path) if self.path else "inventory"
        if line:
            where += f" line {line}"
        return InventoryError(f"{where}: {message}")


def load_inventory(path: Path | str | None = None) -> Inventory:
    """Read and validate an inventory file; raise :class:`InventoryError` with one clear sentence."""
    p = Path(path) if path else paths.default_inventory()
    if not p.exists():
        raise InventoryError(
            f"{p}: no such inventory file; create it (see README), pass --inventory FILE, "
            "or try `ucterm demo`.")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InventoryError(f"{p}: cannot read the inventory ({exc.strerror}); check its permissions.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InventoryError(f"{p}: the inventory is not UTF-8 text; save it as UTF-8.") from None
    owner_only = _owner_only(p)
    return parse_inventory(text, path=p, owner_only=owner_only)


def _owner_only(p: Path) -> bool:
    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return not (mode & (stat.S_IRWXG | stat.S_IRWXO))


def parse_inventory(text: str, *, path: Path | None = None, owner_only: bool = False) -> Inventory:
    ctx = _Context(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = str(path) if path else "inventory"
        detail = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)", detail)
        if m:
            where += f" line {m.group(1)}"
            detail = detail[: m.start()] + f" at column {m.group(2)}"
        raise InventoryError(f"{where}: invalid TOML ({detail}); fix the syntax there.") from None
    warnings: list[str] = []
    unknown_top = set(data) - {"defaults", "cluster"}
    if unknown_top:
        key = sorted(unknown_top)[0]
        raise ctx.error(f'unknown top-level field "{key}"; the file has [defaults] and [[cluster]] tables.',
                        key)
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        raise ctx.error("[defaults] must be a table.", "defaults")
    base_dir = path.parent if path else Path.cwd()
    defaults = _settings(raw_defaults, Settings(), ctx, "[defaults]", base_dir, owner_only, warnings)
    raw_clusters = data.get("cluster", [])
    if not isinstance(raw_clusters, list):
        raise ctx.error("`cluster` must be an array of tables written as [[cluster]].", "cluster")
    clusters: list[Cluster] = []
    seen_nodes: dict[str, str] = {}
    seen_clusters: set[str] = set()
    for raw in raw_clusters:
        cluster = _cluster(raw, defaults, ctx, base_dir, owner_only, warnings, seen_nodes)
        if cluster.name in seen_clusters:
            raise ctx.error(f'cluster "{cluster.name}" appears twice; give each cluster its own name.',
                            f'"{cluster.name}"', after=(ctx.line_of(f'"{cluster.name}"') or 0))
        seen_clusters.add(cluster.name)
        clusters.append(cluster)
    for c in clusters:
        if c.cucm_cluster and c.cucm_cluster not in seen_clusters:
            raise ctx.error(f'cluster "{c.name}" field cucm_cluster names "{c.cucm_cluster}", which is not '
                            "in this inventory; add it or remove the field.", "cucm_cluster")
    return Inventory(path=path, defaults=defaults, clusters=tuple(clusters), warnings=tuple(warnings),
                     raw_defaults=dict(raw_defaults))


def _settings(raw: dict[str, Any], base: Settings, ctx: _Context, where: str, base_dir: Path,
              owner_only: bool, warnings: list[str]) -> Settings:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTING_KEYS:
            continue
        expected = SETTING_KEYS[key]
        if isinstance(value, bool) and expected is not bool:
            raise ctx.error(f'{where} field {key} must be {_type_name(expected)}, not true/false.', key)
        if not isinstance(value, expected):
            raise ctx.error(f"{where} field {key} must be {_type_name(expected)}.", key)
        if key in ("os_password", "app_password") and not is_reference(value):
            if not owner_only:
                raise ctx.error(
                    f"{where} field {key} holds a literal password but the file is readable by others; "
                    f"use env:NAME, keyring:SERVICE or prompt, or run `chmod 600 {ctx.path}`.", key)
            warnings.append(f"{ctx.path}: {where} field {key} holds a literal password; prefer env:NAME, "
                            "keyring:SERVICE or prompt.")
        if key == "transport" and value not in TRANSPORTS:
            raise ctx.error(f'{where} field transport is "{value}"; use one of auto, cli, rest.', "transport")
        if key in ("warn_days", "crit_days") and value < 0:
            raise ctx.error(f"{where} field {key} must be zero or more days.", key)
        if key in ("known_hosts", "ca_bundle", "lab_ca"):
            value = (base_dir / value).resolve() if not Path(value).is_absolute() else Path(value)
        if key in ("banner_timeout", "command_timeout"):
            value = float(value)
            if value <= 0:
                raise ctx.error(f"{where} field {key} must be a positive number of seconds.", key)
        values[key] = value
    merged = replace(base, **values)
    if merged.crit_days > merged.warn_days:
        raise ctx.error(f"{where} crit_days ({merged.crit_days}) is larger than warn_days ({merged.warn_days}); "
                        "crit_days must be the smaller threshold.", "crit_days")
    return merged


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}
    if isinstance(t, tuple):
        return "a number"
    return names.get(t, t.__name__)


def _cluster(raw: Any, defaults: Settings, ctx: _Context, base_dir: Path, owner_only: bool,
             warnings: list[str], seen_nodes: dict[str, str]) -> Cluster:
    if not isinstance(raw, dict):
        raise ctx.error("each [[cluster]] must be a table.", "[[cluster]]")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ctx.error("a [[cluster]] has no name; add name = \"...\".", "[[cluster]]")
    start = ctx.line_of(f'"{name}"') or 0
    label = f'cluster "{name}"'
    for key in raw:
        if key not in CLUSTER_KEYS and key not in SETTING_KEYS:
            raise ctx.error(f'{label} has an unknown field "{key}".', key, after=max(0, start - 1))
    product = raw.get("product")
    if product not in catalog.PRODUCTS:
        raise ctx.error(f'{label} has product "{product}"; use one of {", ".join(catalog.PRODUCTS)}.',
                        "product", after=max(0, start - 1))
    version = raw.get("version")
    if version is not None and (not isinstance(version, str) or catalog.parse_version(version) is None):
        raise ctx.error(f'{label} field version "{version}" is not a VOS version such as "14.0.1.13900-155".',
                        "version", after=max(0, start - 1))
    settings = _settings(raw, defaults, ctx, label, base_dir, owner_only, warnings)
    raw_nodes = raw.get("node", [])
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ctx.error(f"{label} has no nodes; add at least one [[cluster.node]] with fqdn and role.",
                        f'"{name}"')
    nodes = [_node(n, label, ctx, start, seen_nodes, name) for n in raw_nodes]
    publishers = [n for n in nodes if n.role == "publisher"]
    if not publishers:
        raise ctx.error(f'{label} has no publisher; set role = "publisher" on its first node.', f'"{name}"')
    if len(publishers) > 1:
        raise ctx.error(f'{label} has {len(publishers)} publishers ({", ".join(n.fqdn for n in publishers)}); '
                        "a cluster has exactly one.", f'"{publishers[1].fqdn}"')
    str_list = {}
    for key in ("presence_domains", "email_domains"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ctx.error(f"{label} field {key} must be a list of domain names.", key, after=max(0, start - 1))
        str_list[key] = tuple(value)
    for key in ("group_chat_alias", "cucm_cluster", "presence_redundancy_group"):
        if key in raw and not isinstance(raw[key], str):
            raise ctx.error(f"{label} field {key} must be a string.", key, after=max(0, start - 1))
    for key in ("federation_wildcard", "mixed_mode"):
        if key in raw and not isinstance(raw[key], bool):
            raise ctx.error(f"{label} field {key} must be true or false.", key, after=max(0, start - 1))
    return Cluster(
        name=name, product=product, nodes=tuple(nodes), settings=settings, version=version,
        presence_domains=str_list["presence_domains"], email_domains=str_list["email_domains"],
        group_chat_alias=raw.get("group_chat_alias"), federation_wildcard=raw.get("federation_wildcard", False),
        cucm_cluster=raw.get("cucm_cluster"), presence_redundancy_group=raw.get("presence_redundancy_group"),
        mixed_mode=raw.get("mixed_mode", False),
    )


_FQDN_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$")


def _node(raw: Any, cluster_label: str, ctx: _Context, start: int, seen: dict[str, str], cluster_name: str) -> Node:
    if not isinstance(raw, dict):
        raise ctx.error(f"{cluster_label}: each [[cluster.node]] must be a table.", "[[cluster.node]]")
    fqdn = raw.get("fqdn")
    if not isinstance(fqdn, str) or not _FQDN_RE.match(fqdn):
        raise ctx.error(f"{cluster_label} has a node without a valid fqdn (got {fqdn!r}); "
                        'add fqdn = "host.example.com".', "fqdn", after=max(0, start - 1))
    label = f'{cluster_label} node "{fqdn}"'
    for key in raw:
        if key not in NODE_KEYS:
            raise ctx.error(f'{label} has an unknown field "{key}".', key, after=ctx.line_of(f'"{fqdn}"') or 0)
    key = fqdn.lower()
    if key in seen:
        first = ctx.line_of(f'"{fqdn}"') or 0
        raise ctx.error(f'{label} appears twice (also in cluster "{seen[key]}"); list each node once.',
                        f'"{fqdn}"', after=first)
    seen[key] = cluster_name
    role = raw.get("role")
    if role is not None and role not in ROLES:
        raise ctx.error(f'{label} has role "{role}"; use publisher or subscriber.', "role",
                        after=ctx.line_of(f'"{fqdn}"') or 0)
    address = raw.get("address", fqdn)
    if not isinstance(address, str) or not address:
        raise ctx.error(f"{label} field address must be a host name or IP address.", "address")
    ports_raw = raw.get("ports", {})
    if not isinstance(ports_raw, dict):
        raise ctx.error(f"{label} field ports must be a table such as {{ ssh = 22, https = 8443 }}.", "ports")
    ports: dict[str, int] = {}
    for pname, pval in ports_raw.items():
        if pname not in catalog.DEFAULT_PORTS:
            raise ctx.error(f'{label} has an unknown port "{pname}"; use '
                            f'{", ".join(catalog.DEFAULT_PORTS)}.', pname, after=ctx.line_of(f'"{fqdn}"') or 0)
        if isinstance(pval, bool) or not isinstance(pval, int) or not 1 <= pval <= 65535:
            raise ctx.error(f"{label} has a bad port {pname} = {pval!r}; use a number from 1 to 65535.",
                            pname, after=ctx.line_of(f'"{fqdn}"') or 0)
        ports[pname] = pval
    version = raw.get("version")
    if version is not None and (not isinstance(version, str) or catalog.parse_version(version) is None):
        raise ctx.error(f'{label} field version "{version}" is not a VOS version.', "version")
    return Node(fqdn=fqdn, address=address, role=role, ports=ports, version=version)


# --------------------------------------------------------------------------------------------
# Saving
