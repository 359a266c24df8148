"""Building a renewal plan: inventory + scan state + options → ordered steps. Pure.

No I/O and no clock here, so that the TUI can rebuild a plan on every keystroke, `--dry-run`
prints exactly what a real run does, and tests need no lab. Everything Cisco-specific comes
from :mod:`ucterm.catalog`; this module only decides the order (procedure.md), the scope (which
nodes) and the transport each node's version allows (design.md §2).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from ucterm import catalog
from ucterm.errors import UctermError
from ucterm.inventory import Cluster, Inventory, Node
from ucterm.renewal.model import CsrRequest, Plan, PlanOptions, RestartItem, Step, StepTransport
from ucterm.scan.model import CertRecord, ScanResult
from ucterm.vos.errors import UnsupportedOperation
from ucterm.vos.transport import Channel, Operation, choose

CERTMGR = "/platformcom/api/v1/certmgr/config"
_MS_CN = re.compile(r"^[^.]+-(?:ec-)?ms\.", re.IGNORECASE)


class PlanError(UctermError):
    """The renewal cannot be planned as asked: one sentence saying why and what to do instead."""


# --------------------------------------------------------------------------------------------
# Scope and versions


def _scope(cluster: Cluster, options: PlanOptions) -> tuple[Node, ...]:
    ordered = cluster.ordered_nodes()
    if not options.nodes:
        return ordered
    if options.multi_server:
        raise PlanError(f'a multi-server certificate covers every node of cluster "{cluster.name}": '
                        "drop --node, or renew single-server certificates on the nodes you name.")
    chosen = {cluster.node(n).fqdn for n in options.nodes}  # InventoryError names an unknown node
    return tuple(n for n in ordered if n.fqdn in chosen)


def _version_text(cluster: Cluster, node: Node, scan: ScanResult | None) -> str | None:
    if scan is not None:
        result = scan.node_result(cluster.name, node.fqdn)
        if result is not None and result.version:
            return result.version
    return node.version or cluster.version


def _current(scan: ScanResult | None, cluster: str, node: str, unit: str) -> CertRecord | None:
    if scan is None:
        return None
    for rec in scan.for_node(cluster, node):
        if rec.store == "own" and rec.unit.lower() == unit.lower():
            return rec
    return None


def current_multi_server(scan: ScanResult | None, cluster: Cluster, unit: str) -> str | None:
    """How the unit's current certificate on the cluster is multi-server ("CN x, on 3 nodes"), or None
    when it is not (or the scan does not say): the like-for-like default of `ucterm renew`.

    Multi-server means one CA-signed certificate for several nodes: the same certificate on more than
    one node, or the publisher's naming several nodes of the cluster (SANs) or carrying VOS's
    `-ms.` CN (§2.1). A self-signed certificate is always a node's own."""
    current = _current(scan, cluster.name, cluster.publisher.fqdn, unit)
    if current is None or current.self_signed:
        return None
    fqdns = {n.fqdn.lower() for n in cluster.nodes}
    holders = [n for n in cluster.nodes
               if (rec := _current(scan, cluster.name, n.fqdn, unit)) is not None
               and rec.fingerprint_sha256 == current.fingerprint_sha256]
    covered = fqdns & {s.lower() for s in current.sans}
    if len(holders) < 2 and len(covered) < 2 and not _MS_CN.match(current.subject_cn):
        return None
    reach = max(len(holders), len(covered))
    return f"CN {current.subject_cn}" + (f", on {reach} nodes" if reach > 1 else "")


# --------------------------------------------------------------------------------------------
# Defaults for the CSR subject


def defaults_for(inventory: Inventory, scan: ScanResult | None, cluster: str, unit: str,
                 multi_server: bool) -> PlanOptions:
    """Options with the CSR subject pre-filled: auto-populated SANs (procedure.md step 2) plus, where
    the current certificate is CA-signed, the extra DNS names it carries, so that a renewal keeps
    the names clients already use. CN: the current one where it fits the distribution, else the
    node FQDN (single-server) or `<publisher>-ms.<domain>` (multi-server, §2.1)."""
    c = inventory.cluster(cluster)
    spec = unit_for(c, unit)
    fqdns = tuple(n.fqdn.lower() for n in c.ordered_nodes())
    linked = _linked_fqdns(inventory, c, spec, multi_server)
    csr: dict[str, CsrRequest] = {}
    targets = (c.publisher,) if multi_server else c.ordered_nodes()
    for node in targets:
        auto = _auto_sans(c, spec, node, multi_server, linked)
        current = _current(scan, c.name, node.fqdn, spec.name)
        extras: list[str] = []
        cn = catalog.multi_server_cn(node.fqdn, spec.is_ecdsa) if multi_server else node.fqdn.lower()
        if current is not None:
            current_cn = current.subject_cn.lower()
            is_ms = bool(_MS_CN.match(current_cn)) or len(set(current.sans) & set(fqdns)) > 1
            fits = (is_ms and not current.self_signed) if multi_server else \
                current_cn in (node.fqdn.lower(), node.hostname.lower())
            if fits:
                cn = current_cn
            if not current.self_signed:
                others = set(fqdns) - {node.fqdn.lower()} if not multi_server else set()
                extras = [s.lower() for s in current.sans
                          if "*" not in s and not _is_ip(s) and s.lower() not in others]
        csr[node.fqdn.lower()] = CsrRequest(cn, tuple(dict.fromkeys([*auto, *extras])))
    return PlanOptions(cluster=c.name, unit=spec.name, multi_server=multi_server, csr=csr)


def _auto_sans(c: Cluster, spec: catalog.UnitSpec, node: Node, multi_server: bool,
               linked: tuple[str, ...] = ()) -> tuple[str, ...]:
    return catalog.auto_populated_sans(
        spec.name, multi_server=multi_server, node_fqdn=node.fqdn,
        cluster_fqdns=(*(n.fqdn.lower() for n in c.ordered_nodes()), *linked), presence_domains=c.presence_domains,
        email_domains=c.email_domains, group_chat_alias=c.group_chat_alias,
        federation_wildcard=c.federation_wildcard)


def linked_clusters(inventory: Inventory, cluster: Cluster, unit: str, multi_server: bool) -> tuple[Cluster, ...]:
    """The IM&P clusters a CUCM multi-server tomcat certificate also covers.

    VOS auto-populates such a CSR with the CUCM and the IM&P nodes, installs the certificate on
    every node in its SANs, and each still needs its services restarted (§2.1 [VERIFIED:
    S-SEC14SU2 / S-ADM125SU3]). The inventory links an IM&P cluster to its CUCM cluster with
    `cucm_cluster`; an IM&P cluster without that field is not known to belong here.
    """
    if not (multi_server and cluster.product == "cucm" and catalog.multi_server_covers_imp(unit)):
        return ()
    return tuple(c for c in inventory.clusters if c.product == "imp" and c.cucm_cluster == cluster.name)


def _linked_fqdns(inventory: Inventory, cluster: Cluster, spec: catalog.UnitSpec,
                  multi_server: bool) -> tuple[str, ...]:
    return tuple(n.fqdn.lower() for c in linked_clusters(inventory, cluster, spec.name, multi_server)
                 for n in c.ordered_nodes())


def _is_ip(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:.]*", text))


def unit_for(cluster: Cluster, unit: str) -> catalog.UnitSpec:
    """The catalog's unit for a cluster's product; PlanError naming the product's units otherwise."""
    try:
        spec = catalog.unit_spec(unit)
    except KeyError:
        raise PlanError(f'unknown unit "{unit}"; the units of {catalog.PRODUCT_NAMES[cluster.product]} are '
                        + ", ".join(u.name for u in catalog.units_for(cluster.product)) + ".") from None
    if cluster.product not in spec.products:
        raise PlanError(f'{catalog.PRODUCT_NAMES[cluster.product]} cluster "{cluster.name}" has no '
                        f'{spec.name} certificate; its units are '
                        + ", ".join(u.name for u in catalog.units_for(cluster.product)) + ".")
    return spec


# --------------------------------------------------------------------------------------------
# Transports


def _transports(cluster: Cluster, node: Node, version: catalog.Version | None, multi_server: bool,
                warnings: list[str]) -> tuple[Channel, Channel]:
    """(CSR channel, upload channel) for a CSR node, by the rule the scan uses too (vos.transport)."""
    label = f"{node.fqdn} ({version.label})" if version else node.fqdn
    operations: tuple[Operation, Operation] = (("csr-multi", "import-own-multi") if multi_server
                                               else ("csr", "import-own"))
    setting = cluster.settings.transport
    try:
        csr = choose(operations[0], version, setting, node=label, cluster=cluster.name)
        upload = choose(operations[1], version, setting, node=label, cluster=cluster.name)
    except UnsupportedOperation as exc:  # build_plan has already refused what multi_server_possible() refuses
        raise PlanError(str(exc)) from None
    if version is None and "cli" in (csr, upload):
        warnings.append(f"the version of {node.fqdn} is unknown: the plan uses the CLI there; the preflight "
                        "reads the version and stops if the plan does not fit it.")
    return csr, upload


def multi_server_possible(cluster: Cluster, version: catalog.Version | None,
                          unit: str) -> tuple[bool, str | None]:
    """Whether ucterm can renew `unit` multi-server on `cluster` whose publisher runs `version`.

    (True, None), or (False, the reason as one clause). The catalog must know a multi-server
    certificate for the unit on this product and release (§2), and the publisher must make the CSR
    over the certmgr REST API: `set csr gen` cannot make a multi-server CSR (§1.3) and certmgr
    exists from release 14 (§4.1). An unknown version is allowed; the preflight reads it.
    The form (disabled option, with this reason) and build_plan (refusal) both use this.
    """
    spec = catalog.unit_spec(unit)
    product = catalog.PRODUCT_NAMES[cluster.product]
    release = f" {version.label}" if version else ""
    if not catalog.multi_server_allowed(cluster.product, version, spec.name):
        # The catalog's multi-server table (cisco-uc-certs.md §2).
        return False, f"{spec.name} has no multi-server certificate on {product}{release}"
    if version is not None and not catalog.rest_api_available(version):
        # `set csr gen` makes no multi-server CSR (§1.3); certmgr REST exists from 14 (§4.1).
        return False, (f"a multi-server CSR is made in the OS Administration GUI or over the certmgr REST API "
                       f"(release 14+), and {product}{release} has no certmgr REST API: ucterm cannot make it")
    if cluster.settings.transport == "cli":
        return False, (f'cluster "{cluster.name}" sets transport = "cli", but a multi-server CSR needs the '
                       'certmgr REST API (set transport = "auto" or "rest")')
    return True, None


def _read_transport(cluster: Cluster, node: Node, version: catalog.Version | None) -> Channel:
    """How a node that gets no CSR is read. A read is never what stops a renewal: where the setting
    asks for REST that the node lacks, it is read over the CLI (as the scan does)."""
    try:
        return choose("read", version, cluster.settings.transport, node=node.fqdn, cluster=cluster.name)
    except UnsupportedOperation:
        return "cli"


# --------------------------------------------------------------------------------------------
# Commands


def _rest(node: Node, method: str, path: str, body: object | None = None) -> str:
    url = f"https://{node.address}:{node.port('rest')}{CERTMGR}{path}"
    return f"{method} {url}" + (f" {json.dumps(body)}" if body is not None else "")


def _csr_commands(node: Node, transport: StepTransport, unit: str, req: CsrRequest, multi: bool,
                  version: catalog.Version | None, options: PlanOptions) -> list[str]:
    if transport == "rest":
        spec = catalog.unit_spec(unit)
        body: dict[str, object] = {
            "service": unit, "distribution": catalog.REST_DISTRIBUTION[multi], "commonName": req.common_name,
            "keyType": "ec" if spec.is_ecdsa else "rsa",
            "keyLength": 256 if spec.is_ecdsa else options.key_length, "hashAlgorithm": "sha256"}
        if req.alt_names:
            body["altNames"] = list(req.alt_names)
        return [_rest(node, "POST", "/csr", body)]
    first = f"set csr gen {unit}"
    if catalog.csr_gen_asks_ou(version):
        first += f"    (Include OU in CSR (yes|no)? {'yes' if options.include_ou else 'no'})"
    elif catalog.csr_carries_ou(transport, version):
        first += "    (no question before 14SU1: the CSR carries the OU from show web-security)"
    return [first, f"show csr own {unit}"]


def _preflight_commands(node: Node, unit: str, store: str, transport: StepTransport, ha_node: bool) -> list[str]:
    cmds = ["show version active", "utils service list", "show web-security", "show csr list own",
            f"show csr own {unit}"]
    if transport == "rest":
        cmds += [_rest(node, "GET", f"/identity/certificate?service={unit}"),
                 _rest(node, "GET", f"/trust/certificate?service={unit}")]
    else:
        cmds += [f"show cert own {unit}", "show cert list trust", f"show cert trust {store}/<each CA>"]
    if ha_node:
        cmds.append("utils ha status")
    return cmds


# --------------------------------------------------------------------------------------------
# The plan


def build_plan(inventory: Inventory, scan: ScanResult | None, options: PlanOptions) -> Plan:
    """The ordered steps of one renewal. Raises :class:`PlanError` (or InventoryError for an unknown
    cluster or node) with one sentence when the renewal cannot be done as asked."""
    cluster = inventory.cluster(options.cluster)
    spec = unit_for(cluster, options.unit)
    unit, multi = spec.name, options.multi_server
    scope = _scope(cluster, options)
    if not scope:
        raise PlanError(f'no node of cluster "{cluster.name}" is in scope; check --node.')
    pub = cluster.publisher
    versions = {n.fqdn: _version_text(cluster, n, scan) for n in scope}
    vobj = {n.fqdn: catalog.parse_version(versions[n.fqdn]) for n in scope}
    pub_version = catalog.parse_version(_version_text(cluster, pub, scan))
    if multi:
        possible, why = multi_server_possible(cluster, pub_version, unit)
        if not possible:
            raise PlanError(f"{why}; renew single-server certificates (drop --multi-server).")
    warnings: list[str] = []
    csr_nodes = (pub,) if multi else scope
    transports = {n.fqdn: _transports(cluster, n, vobj.get(n.fqdn), multi, warnings) for n in csr_nodes}
    defaults = defaults_for(inventory, scan, cluster.name, unit, multi)
    ha = catalog.ha_applies(cluster.product, unit)
    group = cluster.presence_redundancy_group
    ha_transport: StepTransport = ("axl" if group and cluster.cucm_cluster and _app_user(inventory, cluster)
                               else "manual")
    # The AXL request goes to the CUCM publisher (Runner.axl_access); the plan names that node.
    axl_node = (inventory.cluster(cluster.cucm_cluster).publisher
                if ha_transport == "axl" and cluster.cucm_cluster else None)

    steps: list[Step] = []
    requests = {n.fqdn.lower(): options.csr.get(n.fqdn.lower()) or defaults.csr[n.fqdn.lower()]
                for n in csr_nodes}
    # IM&P nodes the certificate reaches through its SANs: preflighted, restarted and verified too.
    linked = [(lc, n) for lc in linked_clusters(inventory, cluster, unit, multi) for n in lc.ordered_nodes()
              if multi and n.fqdn.lower() in {a.lower() for a in requests[pub.fqdn.lower()].alt_names}]
    for lc, n in linked:
        versions[n.fqdn] = _version_text(lc, n, scan)
        vobj[n.fqdn] = catalog.parse_version(versions[n.fqdn])
    for c, n in [(cluster, n) for n in scope] + linked:
        # A CSR node is read over the channel its upload will use: the preflight proves it works.
        read_t = (transports[n.fqdn][1] if n.fqdn in transports
                  else _read_transport(c, n, vobj.get(n.fqdn)))
        steps.append(_preflight_step(n, spec, read_t, ha and n is pub))
        result = scan.node_result(c.name, n.fqdn) if scan is not None else None
        if result is not None and not result.reachable:
            warnings.append(f"{n.fqdn} could not be read ({result.error or result.state}); the preflight "
                            "will try again.")
    certificate_steps: list[Step] = []
    linked_fqdns = _linked_fqdns(inventory, cluster, spec, multi)
    covered = {n.fqdn.lower() for _, n in linked}
    for n in csr_nodes:
        req = requests[n.fqdn.lower()]
        beyond = sorted(set(req.alt_names) - set(_auto_sans(cluster, spec, n, multi, linked_fqdns)))
        if transports[n.fqdn][0] == "cli" and beyond:
            warnings.append(f"{n.fqdn}: `set csr gen` cannot choose SANs, so the CSR carries the node's "
                            "own names without " + ", ".join(beyond) + ".")
        elsewhere = sorted({o.fqdn for c in inventory.clusters if c.name != cluster.name for o in c.nodes
                            if o.fqdn.lower() in {a.lower() for a in req.alt_names}
                            and o.fqdn.lower() not in covered}) if multi else []
        if elsewhere:
            warnings.append("VOS installs a multi-server certificate on every node in its SANs, so it reaches "
                            + ", ".join(elsewhere) + f" too, but this job restarts and verifies cluster "
                            f'"{cluster.name}" only: restart their services by hand afterwards.')  # §2.1
        certificate_steps += _certificate_steps(n, spec, req, transports[n.fqdn][0], vobj.get(n.fqdn), options)
    # Every CSR first, then every certificate: the user sends all CSRs to the CA at once.
    order = {"generate_csr": 0, "save_csr": 1, "obtain_signed": 2, "validate": 3}
    steps += sorted(certificate_steps, key=lambda s: order[s.kind])
    for n in csr_nodes:
        steps += _upload_steps(n, spec, transports[n.fqdn][1], multi)
    if ha:
        steps.append(_ha_step(pub, ha_transport, group, enable=False, axl_node=axl_node))
    for c, n in [(cluster, n) for n in scope] + linked:
        # A linked IM&P node of unknown release gets the catalog's superset, never the CUCM publisher's
        # release: the preflight then finds the plan still fits whatever it runs.
        version = vobj.get(n.fqdn) or (pub_version if c is cluster else None)
        items = _restart_items(c, n, unit, version, spec.trust_store)
        if items:
            steps.append(_restart_step(n, items))
    if ha:
        steps.append(_ha_step(pub, ha_transport, group, enable=True, axl_node=axl_node))
    steps += [_verify_step(n, spec) for n in scope]
    steps += [_verify_step(n, spec) for _, n in linked]

    risks = list(catalog.risk_notes(cluster.product, pub_version, unit, mixed_mode=cluster.mixed_mode))
    for other, job in options.recent_units.items():
        if other != unit and {other, unit} <= catalog.NEVER_TOGETHER:
            risks.insert(0, f"{other} was renewed on this cluster by job {job}: never renew {unit} in the "
                            "same window; wait until every phone has re-registered")  # §5.5
    if ha and ha_transport == "manual":
        warnings.append("High Availability is toggled by hand (no AXL user or presence_redundancy_group/"
                        "cucm_cluster in the inventory): the job waits for you at that step and checks "
                        "`utils ha status`.")
    if cluster.settings.read_only:
        warnings.append("the inventory is read-only: this plan can be shown but not run.")
    current_ms = current_multi_server(scan, cluster, unit)
    if current_ms and not multi:
        warnings.append(f"the current {unit} certificate is multi-server ({current_ms}): this plan replaces it "
                        "with a single-server certificate on each node in scope, and clients that use the "
                        "shared name must accept each node's own.")
    elif multi and current_ms is None and _current(scan, cluster.name, pub.fqdn, unit) is not None:
        warnings.append(f"the current {unit} certificates are single-server (one per node): this plan replaces "
                        "them with one multi-server certificate for every node of the cluster.")
    return Plan(cluster=cluster.name, product=cluster.product, unit=unit, multi_server=multi,
                nodes=tuple(n.fqdn for n in scope), csr_nodes=tuple(n.fqdn for n in csr_nodes), steps=steps,
                options=replace(options, unit=unit, csr=requests), versions=versions,
                warnings=list(dict.fromkeys(warnings)), risks=risks, ha_group=group,
                linked_nodes=tuple(n.fqdn for _, n in linked))


def _preflight_step(n: Node, spec: catalog.UnitSpec, read_t: Channel, ha_node: bool) -> Step:
    return Step(id=f"preflight:{n.fqdn}",
                name=f"Preflight {n.hostname}: reachable, version, services, DN, outstanding CSR",
                kind="preflight", node=n.fqdn, transport="cli",
                commands=_preflight_commands(n, spec.name, spec.trust_store, read_t, ha_node),
                skippable=False, read_transport=read_t)


def _certificate_steps(n: Node, spec: catalog.UnitSpec, req: CsrRequest, csr_t: StepTransport,
                       version: catalog.Version | None, options: PlanOptions) -> list[Step]:
    """Steps 2-5 for one CSR: generate, save, obtain the signed certificate, validate."""
    unit, multi, job = spec.name, options.multi_server, "<job>"
    distribution = "multi-server" if multi else "single-server"
    regen = options.regenerate_csr
    if options.signer == "lab":
        obtain = "the lab CA signs the CSR"
    elif options.signer == "signer":
        obtain = (f'signer "{options.signer_name}" signs the CSR (while it waits: ucterm resume {job} asks it '
                  "again)")
    else:
        obtain = f"wait for the CA: ucterm resume {job} --signed FILE [--chain FILE ...]"
    check = (f"ucterm check --cert {job}/cert-{n.fqdn}.pem --csr {job}/csr-{n.fqdn}.pem "
             f"--chain {job}/chain-{n.fqdn}.pem --unit {unit}" + (" --multi-server" if multi else ""))
    return [
        Step(id=f"generate_csr:{n.fqdn}", name=f"Generate the {unit} CSR on {n.hostname} ({distribution})",
             kind="generate_csr", node=n.fqdn, transport=csr_t,
             commands=_csr_commands(n, csr_t, unit, req, multi, version, options), risky=regen,
             risk_note=("replaces the CSR outstanding on the node: a certificate the CA issues from the "
                        "old CSR can no longer be uploaded") if regen else "",  # §5.3
             csr_node=n.fqdn, csr=req, skippable=False),
        Step(id=f"save_csr:{n.fqdn}", name=f"Save the CSR of {n.hostname} into the job folder",
             kind="save_csr", node=n.fqdn, transport="local",
             commands=[f"write {job}/csr-{n.fqdn}.pem (send it to the CA)"], csr_node=n.fqdn,
             skippable=False),
        Step(id=f"obtain_signed:{n.fqdn}", name=f"Obtain the certificate the CA issued for {n.hostname}",
             kind="obtain_signed", node=n.fqdn, transport="local", commands=[obtain], csr_node=n.fqdn,
             skippable=False),
        Step(id=f"validate:{n.fqdn}",
             name=f"Validate the signed certificate for {n.hostname} (the ucterm check rules)",
             kind="validate", node=n.fqdn, transport="local", commands=[check], csr_node=n.fqdn,
             skippable=False),
    ]


def _upload_steps(n: Node, spec: catalog.UnitSpec, up_t: StepTransport, multi: bool) -> list[Step]:
    """Step 6: the CA chain into `<unit>-trust`, then the identity (§5.4 order)."""
    unit = spec.name
    store_unit = catalog.trust_store_unit(spec.trust_store)
    if up_t == "rest":
        trust_cmd = [_rest(n, "POST", "/trust/certificates", {
            "service": [store_unit], "certificates": ["<CA PEM>"], "description": "ucterm renewal"})]
        own_cmd = [_rest(n, "POST", "/identity/certificates",
                         {"service": unit, "certificates": ["<leaf PEM>", "<intermediate PEM>"]})]
    else:
        trust_cmd = [f"set cert import trust {store_unit}    (paste each CA certificate)"]
        own_cmd = [f"set cert import own {unit}    (paste the signed certificate)"]
    where = "every node, through the publisher" if multi else n.hostname
    return [
        Step(id=f"upload_trust:{n.fqdn}",
             name=f"Upload the CA chain into {spec.trust_store} on {n.hostname} "
                  "(root first; skip what is there)",
             kind="upload_trust", node=n.fqdn, transport=up_t, commands=trust_cmd, csr_node=n.fqdn),
        Step(id=f"upload_identity:{n.fqdn}", name=f"Upload the signed {unit} certificate on {n.hostname}",
             kind="upload_identity", node=n.fqdn, transport=up_t, commands=own_cmd, risky=True,
             risk_note=f"replaces the {unit} certificate of {where}; it takes effect at the restarts",
             csr_node=n.fqdn, skippable=False),
    ]


def _ha_step(pub: Node, transport: StepTransport, group: str | None, *, enable: bool,
             axl_node: Node | None = None) -> Step:
    """HA off or on again. `node` is the IM&P publisher, where `utils ha status` shows the result;
    over AXL the request itself goes to `axl_node`, the CUCM publisher (`via_node`)."""
    label = f'Presence Redundancy Group "{group}"' if group else "the Presence Redundancy Group"
    via = axl_node.fqdn if axl_node is not None else None
    over = f" (AXL on {axl_node.hostname})" if axl_node is not None else ""
    if enable:
        return Step(id=f"ha_enable:{pub.fqdn}",
                    name=f"Re-enable High Availability on {label}{over}, wait for Normal", kind="ha_enable",
                    node=pub.fqdn, transport=transport,
                    commands=_ha_commands(transport, label, group, enable=True, axl_node=via, ha_node=pub.fqdn),
                    via_node=via)
    return Step(id=f"ha_disable:{pub.fqdn}", name=f"Disable High Availability on {label}{over}",
                kind="ha_disable", node=pub.fqdn, transport=transport,
                commands=_ha_commands(transport, label, group, enable=False, axl_node=via, ha_node=pub.fqdn),
                risky=True, risk_note="users are not protected by failover until HA is enabled again",  # §3.4
                via_node=via)


def _restart_step(n: Node, items: tuple[RestartItem, ...]) -> Step:
    disruptive = list(dict.fromkeys(i.service for i in items if i.disruptive))
    plural = "s" if len(items) != 1 else ""
    only_if = "    (only if a CA certificate was added)"
    return Step(id=f"restart:{n.fqdn}", name=f"Restart {len(items)} service{plural} on {n.hostname}, "
                                             "wait for STARTED",
                kind="restart", node=n.fqdn, transport="cli",
                commands=[i.command + (only_if if i.when == "trust-added" else "") for i in items],
                risky=bool(disruptive),
                risk_note=("restarting " + ", ".join(disruptive) + " interrupts calls, phones or clients "
                           "on this node") if disruptive else "",
                restarts=items)


def _verify_step(n: Node, spec: catalog.UnitSpec) -> Step:
    if spec.served_on:
        cmds = [f"TLS {n.address}:{n.port(p)} ({p}): SHA-256 of the served certificate = the new one"
                for p in spec.served_on]
        transport: StepTransport = "tls"
    else:
        cmds = [f"show cert own {spec.name}: SHA-256 = the new one"]
        transport = "cli"
    return Step(id=f"verify:{n.fqdn}", name=f"Verify {n.hostname} serves the new {spec.name} certificate",
                kind="verify", node=n.fqdn, transport=transport, commands=cmds)


def _app_user(inventory: Inventory, cluster: Cluster) -> str | None:
    """The application user AXL calls run as: the CUCM publisher's own (it takes the request), which
    may differ from its cluster's (design.md §3: a node may override credentials)."""
    try:
        cucm = inventory.cluster(cluster.cucm_cluster) if cluster.cucm_cluster else cluster
    except UctermError:
        return None
    return cucm.settings_for(cucm.publisher).app_user


def _ha_commands(transport: StepTransport, group_label: str, group: str | None, *, enable: bool,
                 axl_node: str | None = None, ha_node: str | None = None) -> list[str]:
    flag = "true" if enable else "false"
    if transport == "axl":
        first = f"AXL updatePresenceRedundancyGroup name={group} haEnabled={flag}" + (
            f"    (to the CUCM publisher {axl_node})" if axl_node else "")
    else:
        first = (f"by hand: CM Administration > System > Presence Redundancy Group > {group_label}: "
                 f"{'check' if enable else 'uncheck'} Enable High Availability, Save")
    on = f" on {ha_node}" if ha_node else ""
    wait = f"utils ha status{on}    (until every node shows State: Normal)" if enable else \
        f"utils ha status{on}    (until it shows High Availability Not Enabled)"
    return [first, wait]


def _restart_items(cluster: Cluster, node: Node, unit: str, version: catalog.Version | None,
                   trust_store: str) -> tuple[RestartItem, ...]:
    """The restarts of one node: the unit's rule (scope-filtered), then trust-store restarts that apply
    only when a CA was added. Publisher-only actions run on the publisher alone (§3.1)."""
    serving = catalog.serving_service(cluster.product, version, unit)
    is_pub = node.fqdn == cluster.publisher.fqdn
    items: list[RestartItem] = []
    seen: set[str] = set()
    for a in catalog.restart_services(cluster.product, version, unit):
        if (a.scope == "publisher" and not is_pub) or (a.scope == "subscribers" and is_pub):
            continue
        seen.add(a.service)
        items.append(RestartItem(a.service, a.cli, a.disruptive, a.service == serving))
    for a in catalog.trust_restart_services(cluster.product, trust_store, version):
        if a.service in seen:
            continue
        seen.add(a.service)
        items.append(RestartItem(a.service, a.cli, a.disruptive, a.service == serving, when="trust-added"))
    return tuple(items)


# --------------------------------------------------------------------------------------------
# Text


def render(plan: Plan, job: str | None = None) -> str:
    """The plan as `--dry-run` prints it: numbered steps, node, transport, exact commands, risks."""
    product = catalog.PRODUCT_NAMES.get(plan.product, plan.product)
    distribution = "multi-server" if plan.multi_server else "single-server"
    title = f"Renew {plan.unit} on cluster {plan.cluster} ({product}, {distribution})"
    lines = [title, "nodes: " + ", ".join(
        f"{n} ({plan.versions.get(n) or 'version unknown'})" for n in plan.nodes)]
    if plan.linked_nodes:
        lines.append("also covers (IM&P, restarted and verified too): " + ", ".join(
            f"{n} ({plan.versions.get(n) or 'version unknown'})" for n in plan.linked_nodes))
    if plan.risks:
        lines.append("risks:")
        lines += [f"  ! {r}" for r in plan.risks]
    if plan.warnings:
        lines.append("warnings:")
        lines += [f"  - {w}" for w in plan.warnings]
    lines.append("steps:")
    for i, s in enumerate(plan.steps, 1):
        mark = " [RISKY]" if s.risky else ""
        lines.append(f"{i:3d}. {s.name}{mark}")
        checked = f" (checked on {s.node})" if s.via_node and s.via_node != s.node else ""
        lines.append(f"     node {s.target or '-'}, via {s.transport}{checked}")
        for cmd in s.commands:
            lines.append(f"       $ {cmd.replace('<job>', job) if job else cmd}")
        if s.risk_note:
            lines.append(f"     ! {s.risk_note}")
    return "\n".join(lines)
