"""The inventory: clusters, nodes and credential references (TOML, design.md §3).

Loaded with tomllib, written with tomli-w. Every error is one sentence that names the file, the
line where it can be found, the cluster or node, and the field, because the person reading it is
usually fixing the file at night in a terminal editor.

Credentials are *references* (`env:NAME`, `keyring:SERVICE`, `prompt`); resolving them is the job
of :mod:`ucterm.credentials`. A literal password is accepted only from a file that nobody but its
owner can read, and even then it is reported as a warning.

Settings cascade: `[defaults]`, then a cluster's overrides, then a node's credentials and
timeouts (VOS gives each node its own platform administrator): :meth:`Cluster.settings_for`.
`[[signer]]` tables are checked by :mod:`ucterm.signer_config`.
"""

from __future__ import annotations

import difflib
import math
import re
import stat
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ucterm import catalog, paths
from ucterm.credentials import password_what
from ucterm.errors import InventoryError
from ucterm.files import FileProblem, read_regular
from ucterm.signer_config import SignerConfig, parse_signer
from ucterm.window import MaintenanceWindow, WindowError, parse_window

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
    "signer": str,
    "maintenance_window": str,
}
CLUSTER_KEYS = {"name", "product", "version", "node", "presence_domains", "email_domains",
                "group_chat_alias", "federation_wildcard", "cucm_cluster", "presence_redundancy_group",
                "mixed_mode"}
#: Settings a node may override (design.md §3: VOS lets each node have its own platform administrator).
NODE_SETTING_KEYS = ("os_user", "os_password", "app_user", "app_password", "banner_timeout", "command_timeout")
NODE_KEYS = {"fqdn", "address", "role", "ports", "version", "hostname", *NODE_SETTING_KEYS}
TOP_KEYS = ("defaults", "cluster", "signer")


def is_reference(value: str) -> bool:
    """True for `env:NAME`, `keyring:SERVICE` and `prompt`: values that are not the secret itself."""
    return value == "prompt" or value.startswith(("env:", "keyring:"))


def nearest(key: str, choices: Iterable[str]) -> str:
    """` (did you mean os_user?)` for a misspelled key, or nothing when no key is close."""
    match = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


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
    #: The [[signer]] that signs CSRs (by name), or None: the user carries CSRs to the CA.
    signer: str | None = None
    #: When restarts that interrupt calls or clients may run; None: whenever the job reaches them.
    maintenance_window: MaintenanceWindow | None = None

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
    #: The node's own credentials and timeouts (NODE_SETTING_KEYS), over its cluster's settings.
    #: Not in the repr: it may hold a literal password from an owner-only file.
    overrides: dict[str, Any] = field(default_factory=dict, repr=False)

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

    def settings_for(self, node: Node | str) -> Settings:
        """The cluster's settings with the node's own credentials and timeouts over them."""
        n = self.node(node) if isinstance(node, str) else node
        return replace(self.settings, **n.overrides) if n.overrides else self.settings

    def password_what(self, field_name: str, node: Node | str | None = None) -> str:
        """How `os_password`/`app_password` of `node` is named in prompts, errors and the prompt cache.

        A node that has its own password is named (it is asked for separately); otherwise the
        cluster's (asked once for all of its nodes).
        """
        n = self.node(node) if isinstance(node, str) else node
        own = n is not None and field_name in n.overrides
        return password_what(field_name, self.name, n.fqdn if own and n is not None else None)


@dataclass(frozen=True)
class Inventory:
    path: Path | None
    defaults: Settings
    clusters: tuple[Cluster, ...]
    warnings: tuple[str, ...] = ()
    #: The raw [defaults] table as written (so saving keeps what the user wrote, not the merged view).
    raw_defaults: dict[str, Any] = field(default_factory=dict, repr=False)
    signers: tuple[SignerConfig, ...] = ()

    def signer(self, name: str) -> SignerConfig:
        for s in self.signers:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.signers) or "none"
        raise InventoryError(f'{self._where()}has no [[signer]] named "{name}"; the signers are: {known}.')

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
        #: Where literal passwords are (`[defaults] os_password`): said once per file, at the end.
        self.literals: list[str] = []

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
        raw = read_regular(p, "the inventory")
    except FileProblem as exc:
        raise InventoryError(str(exc)) from None
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
    """Check an inventory's text; :class:`InventoryError` with one sentence for the first mistake."""
    try:
        return _parse(text, path=path, owner_only=owner_only)
    except RecursionError:
        # tomllib (and any walk over what it returns) recurses per nesting level: a file of
        # thousands of nested arrays is not an inventory, and must not be a traceback.
        where = str(path) if path else "inventory"
        raise InventoryError(f"{where}: the file nests arrays or tables too deeply to be an inventory; "
                             "check that it is the file you meant.") from None


def _parse(text: str, *, path: Path | None, owner_only: bool) -> Inventory:
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
    unknown_top = set(data) - set(TOP_KEYS)
    if unknown_top:
        key = sorted(unknown_top)[0]
        raise ctx.error(f'unknown top-level field "{key}"{nearest(key, TOP_KEYS)}; the file has [defaults], '
                        "[[cluster]] and [[signer]] tables.", key)
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        raise ctx.error("[defaults] must be a table.", "defaults")
    for key in raw_defaults:
        if key not in SETTING_KEYS:
            raise ctx.error(f'[defaults] has an unknown field "{key}"{nearest(key, SETTING_KEYS)}.', key)
    base_dir = path.parent if path else Path.cwd()
    signers = _signers(data.get("signer", []), ctx, base_dir, owner_only, warnings)
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
    names = [s.name for s in signers]
    for where, settings in (("[defaults]", defaults), *((f'cluster "{c.name}"', c.settings) for c in clusters)):
        if settings.signer is not None and settings.signer not in names:
            known = ", ".join(names) or "none are defined"
            raise ctx.error(f'{where} field signer names "{settings.signer}", which is no [[signer]] of this '
                            f"file{nearest(settings.signer, names)}; the signers: {known}.", "signer")
    # One sentence for every literal password of the file (the TUI toasted one per field), and none
    # for a lab inventory (lab_ca set): the lab wrote its own passwords for 127.0.0.1 there itself.
    if ctx.literals and defaults.lab_ca is None:
        fields = ctx.literals
        listed = ", ".join(fields[:-1]) + f" and {fields[-1]}" if len(fields) > 1 else fields[0]
        verb = "hold literal passwords" if len(fields) > 1 else "holds a literal password"
        warnings.append(f"{ctx.path}: {listed} {verb}; prefer env:NAME, keyring:SERVICE or prompt.")
    return Inventory(path=path, defaults=defaults, clusters=tuple(clusters), warnings=tuple(warnings),
                     raw_defaults=dict(raw_defaults), signers=signers)


def _signers(raw: Any, ctx: _Context, base_dir: Path, owner_only: bool,
             warnings: list[str]) -> tuple[SignerConfig, ...]:
    if not isinstance(raw, list):
        raise ctx.error("`signer` must be an array of tables written as [[signer]].", "signer")
    signers: list[SignerConfig] = []
    for table in raw:
        signer = parse_signer(table, ctx, base_dir, owner_only=owner_only, warnings=warnings,
                              is_reference=is_reference, nearest=nearest)
        if any(s.name == signer.name for s in signers):
            raise ctx.error(f'signer "{signer.name}" appears twice; give each [[signer]] its own name.',
                            f'"{signer.name}"', after=ctx.line_of(f'"{signer.name}"') or 0)
        signers.append(signer)
    return tuple(signers)


def _has_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    """isinstance() that leaves `value` as it was for the checker: `expected` is only known at run
    time, so narrowing would make the checked TOML value an `object` for the rest of the loop."""
    return isinstance(value, expected)


def _settings(raw: dict[str, Any], base: Settings, ctx: _Context, where: str, base_dir: Path,
              owner_only: bool, warnings: list[str], after: int = 0) -> Settings:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTING_KEYS:
            continue
        expected = SETTING_KEYS[key]
        if isinstance(value, bool) and expected is not bool:
            raise ctx.error(f'{where} field {key} must be {_type_name(expected)}, not true/false.', key, after=after)
        if not _has_type(value, expected):
            raise ctx.error(f"{where} field {key} must be {_type_name(expected)}.", key, after=after)
        if key in ("os_password", "app_password") and value.startswith(("env:", "keyring:")) \
                and not value.partition(":")[2].strip():
            raise ctx.error(f'{where} field {key} is "{value}" with no name after the colon; write '
                            f"{value}NAME.", key, after=after)
        if key in ("os_password", "app_password") and not is_reference(value):
            if not owner_only:
                raise ctx.error(
                    f"{where} field {key} holds a literal password but the file is readable by others; "
                    f"use env:NAME, keyring:SERVICE or prompt, or run `chmod 600 {ctx.path}`.", key, after=after)
            ctx.literals.append(f"{where} field {key}")
        if key == "transport" and value not in TRANSPORTS:
            raise ctx.error(f'{where} field transport is "{value}"; use one of auto, cli, rest.', "transport",
                            after=after)
        if key in ("warn_days", "crit_days") and value < 0:
            raise ctx.error(f"{where} field {key} must be zero or more days.", key, after=after)
        if key in ("known_hosts", "ca_bundle", "lab_ca"):
            value = (base_dir / value).resolve() if not Path(value).is_absolute() else Path(value)
        if key in ("banner_timeout", "command_timeout"):
            value = float(value)
            if not math.isfinite(value) or value <= 0:
                raise ctx.error(f"{where} field {key} is {value}; it must be a positive number of seconds.", key,
                                after=after)
        if key == "maintenance_window":
            try:
                value = parse_window(value)
            except WindowError as exc:
                raise ctx.error(f"{where} field maintenance_window: {exc}.", key, after=after) from None
        if key == "signer" and not value.strip():
            raise ctx.error(f"{where} field signer is empty; name a [[signer]] or remove the field.", key, after=after)
        values[key] = value
    merged = replace(base, **values)
    if merged.crit_days > merged.warn_days:
        raise ctx.error(f"{where} crit_days ({merged.crit_days}) is larger than warn_days ({merged.warn_days}); "
                        "crit_days must be the smaller threshold.", "crit_days", after=after)
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
            hint = nearest(key, (*CLUSTER_KEYS, *SETTING_KEYS))
            raise ctx.error(f'{label} has an unknown field "{key}"{hint}.', key, after=max(0, start - 1))
    product = raw.get("product")
    if product not in catalog.PRODUCTS:
        raise ctx.error(f'{label} has product "{product}"; use one of {", ".join(catalog.PRODUCTS)}.',
                        "product", after=max(0, start - 1))
    version = raw.get("version")
    if version is not None and (not isinstance(version, str) or catalog.parse_version(version) is None):
        raise ctx.error(f'{label} field version "{version}" is not a VOS version such as "14.0.1.13900-155".',
                        "version", after=max(0, start - 1))
    settings = _settings(raw, defaults, ctx, label, base_dir, owner_only, warnings, after=max(0, start - 1))
    raw_nodes = raw.get("node", [])
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise ctx.error(f"{label} has no nodes; add at least one [[cluster.node]] with fqdn and role.",
                        f'"{name}"')
    nodes = [_node(n, label, ctx, start, seen_nodes, name, settings, base_dir, owner_only, warnings)
             for n in raw_nodes]
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


def _node(raw: Any, cluster_label: str, ctx: _Context, start: int, seen: dict[str, str], cluster_name: str,
          cluster_settings: Settings, base_dir: Path, owner_only: bool, warnings: list[str]) -> Node:
    if not isinstance(raw, dict):
        raise ctx.error(f"{cluster_label}: each [[cluster.node]] must be a table.", "[[cluster.node]]")
    fqdn = raw.get("fqdn")
    if not isinstance(fqdn, str) or not _FQDN_RE.match(fqdn):
        raise ctx.error(f"{cluster_label} has a node without a valid fqdn (got {fqdn!r}); "
                        'add fqdn = "host.example.com".', "fqdn", after=max(0, start - 1))
    label = f'{cluster_label} node "{fqdn}"'
    for key in raw:
        if key not in NODE_KEYS:
            raise ctx.error(f'{label} has an unknown field "{key}"{nearest(key, NODE_KEYS)}.', key,
                            after=ctx.line_of(f'"{fqdn}"') or 0)
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
    own = {k: raw[k] for k in NODE_SETTING_KEYS if k in raw}
    overrides: dict[str, Any] = {}
    if own:
        merged = _settings(own, cluster_settings, ctx, label, base_dir, owner_only, warnings,
                           after=max(0, (ctx.line_of(f'"{fqdn}"') or 1) - 1))
        overrides = {k: getattr(merged, k) for k in own}
    return Node(fqdn=fqdn, address=address, role=role, ports=ports, version=version, overrides=overrides)


# --------------------------------------------------------------------------------------------
# Saving
