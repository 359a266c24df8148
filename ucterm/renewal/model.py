"""The renewal vocabulary: steps, plans, options, states.

A :class:`Plan` is data, not behaviour: the TUI shows it, `--dry-run` prints it, the journal
stores it, and the runner executes it step by step. Every step says which node it touches,
over which transport and with which exact commands, so that nothing the runner does is a
surprise to the person who read the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ucterm.vos.transport import Channel

StepKind = Literal["preflight", "generate_csr", "save_csr", "obtain_signed", "validate", "upload_trust",
                   "upload_identity", "ha_disable", "restart", "ha_enable", "verify"]
#: The order of the procedure (procedure.md; issue 6 steps 1-10).
STEP_KINDS: tuple[StepKind, ...] = ("preflight", "generate_csr", "save_csr", "obtain_signed", "validate",
                                    "upload_trust", "upload_identity", "ha_disable", "restart", "ha_enable",
                                    "verify")
#: Steps that change something on a node: they journal an intent before acting and are reconciled
#: against the node's real state when a job resumes after a crash between intent and done.
SIDE_EFFECT_KINDS: frozenset[str] = frozenset({"generate_csr", "upload_trust", "upload_identity",
                                               "ha_disable", "restart", "ha_enable"})

#: How a step is carried out: a node's channel (`cli`, `rest`: :data:`ucterm.vos.transport.Channel`,
#: chosen by :func:`ucterm.vos.transport.choose`), AXL, by hand, on this machine, or a TLS probe.
StepTransport = Literal["cli", "rest", "axl", "manual", "local", "tls"]
StepState = Literal["pending", "running", "done", "failed", "skipped", "waiting"]
#: What the journal records. `paused`: stopped before a step because the user declined its
#: question (nothing was changed by that step), resumable; a pause asked with `p` in the TUI is
#: not journaled. `abandoned`: given up with `ucterm jobs --abandon` (no longer blocks a new job).
JobState = Literal["running", "paused", "waiting", "done", "failed", "aborted", "abandoned"]
#: What `ucterm jobs` and the TUI show: the journal's state, or `interrupted` for a job the journal
#: says is running while no process holds its lock (Ctrl+C, a dropped session, kill -9).
JobStatus = Literal["running", "paused", "waiting", "done", "failed", "aborted", "abandoned", "interrupted"]
#: The job summary's `state` (design.md §3 keeps it to done|failed|waiting|running, which scripts
#: test): a paused job waits for the user's approval (exit 4), and a job that stopped without
#: finishing (aborted, abandoned, interrupted) reports `failed`. The precise word is `status`.
SUMMARY_STATE: dict[str, str] = {"running": "running", "paused": "waiting", "waiting": "waiting",
                                 "done": "done", "failed": "failed", "aborted": "failed", "abandoned": "failed",
                                 "interrupted": "failed"}
#: design.md §3 exit codes of `renew`/`resume`: 4 waiting (for the CA, an approval or the window).
EXIT_CODES: dict[str, int] = {"done": 0, "failed": 2, "aborted": 2, "abandoned": 2, "waiting": 4, "running": 2,
                              "paused": 4, "interrupted": 2}


@dataclass(frozen=True)
class CsrRequest:
    """The subject a CSR asks for: CN and the complete SAN list (auto-populated names included)."""

    common_name: str
    alt_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"common_name": self.common_name, "alt_names": list(self.alt_names)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CsrRequest:
        return cls(str(d["common_name"]), tuple(d.get("alt_names") or ()))


@dataclass(frozen=True)
class RestartItem:
    """One service restart in a restart step.

    `serving` marks the service whose restart makes the node present the new certificate (its
    completion can be proven with a TLS probe). `when` is `trust-added` for services that need a
    restart only if the trust upload really added a CA certificate.
    """

    service: str
    command: str
    disruptive: bool = False
    serving: bool = False
    when: Literal["always", "trust-added"] = "always"

    @property
    def key(self) -> str:
        return self.service


@dataclass(frozen=True)
class PlanOptions:
    """What the user chose. `csr` holds the CSR subject per node FQDN (lower case); missing
    entries get the defaults of :func:`ucterm.renewal.plan.defaults_for`."""

    cluster: str
    unit: str
    multi_server: bool = False
    #: Nodes in scope (FQDNs or host names); empty means every node of the cluster.
    nodes: tuple[str, ...] = ()
    csr: Mapping[str, CsrRequest] = field(default_factory=dict)
    include_ou: bool = False
    #: The user's explicit word that an outstanding CSR on a node may be replaced.
    regenerate_csr: bool = False
    key_length: int = 2048
    #: `lab`: the lab CA signs (demo, tests); `files`: the user brings what the CA issued; `signer`: the
    #: inventory's `[[signer]]` named `signer_name` signs.
    signer: Literal["files", "lab", "signer"] = "files"
    signer_name: str | None = None
    #: Units renewed recently on this cluster by other jobs (unit -> job id), for the §5.5 rule.
    recent_units: Mapping[str, str] = field(default_factory=dict)
    #: Ask again before each risky step, even after the one confirmation that listed them all.
    confirm_each: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["nodes"] = list(self.nodes)
        d["csr"] = {k: v.to_dict() for k, v in self.csr.items()}
        d["recent_units"] = dict(self.recent_units)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlanOptions:
        return cls(cluster=d["cluster"], unit=d["unit"], multi_server=bool(d.get("multi_server")),
                   nodes=tuple(d.get("nodes") or ()),
                   csr={k: CsrRequest.from_dict(v) for k, v in (d.get("csr") or {}).items()},
                   include_ou=bool(d.get("include_ou")), regenerate_csr=bool(d.get("regenerate_csr")),
                   key_length=int(d.get("key_length", 2048)), signer=d.get("signer", "files"),
                   signer_name=d.get("signer_name"),
                   recent_units=dict(d.get("recent_units") or {}), confirm_each=bool(d.get("confirm_each")))


@dataclass(frozen=True)
class Step:
    """One step of a plan.

    `node` is the node the step acts on (or the node whose CSR it handles, for local steps);
    `csr_node` names the CSR a certificate step belongs to (the publisher for multi-server).
    `commands` are the exact CLI lines or API calls, in the order the runner issues them.
    """

    id: str
    name: str
    kind: StepKind
    node: str | None
    transport: StepTransport
    commands: list[str] = field(default_factory=list)
    risky: bool = False
    risk_note: str = ""
    csr_node: str | None = None
    restarts: tuple[RestartItem, ...] = ()
    csr: CsrRequest | None = None
    #: Whether the user may skip the step (with a reason): never for the steps a certificate needs.
    skippable: bool = True
    #: The channel a preflight reads the node's certificates over (None for other steps), as the plan
    #: chose it; the step's own `transport` is the CLI that reads the version and services.
    read_transport: Channel | None = None
    #: Where the step's requests go when that is not `node`: the CUCM publisher that takes the AXL
    #: request of an IM&P HA toggle, whose result `node` (the IM&P publisher) shows in `utils ha status`.
    via_node: str | None = None

    @property
    def target(self) -> str | None:
        """The node the step's requests go to (what a plan names as the step's node)."""
        return self.via_node or self.node

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["restarts"] = [asdict(r) for r in self.restarts]
        d["csr"] = self.csr.to_dict() if self.csr else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Step:
        return cls(id=d["id"], name=d["name"], kind=d["kind"], node=d.get("node"), transport=d["transport"],
                   commands=list(d.get("commands") or ()), risky=bool(d.get("risky")),
                   risk_note=d.get("risk_note", ""), csr_node=d.get("csr_node"),
                   restarts=tuple(RestartItem(**r) for r in d.get("restarts") or ()),
                   csr=CsrRequest.from_dict(d["csr"]) if d.get("csr") else None,
                   skippable=bool(d.get("skippable", True)),
                   read_transport=d.get("read_transport") or _journaled_read_transport(d),
                   via_node=d.get("via_node"))


def _journaled_read_transport(d: Mapping[str, Any]) -> Channel | None:
    """The read channel of a preflight journaled before plans recorded it (ucterm 0.1.0): the plan
    listed the certmgr GETs among its commands exactly when it read over REST."""
    if d.get("kind") != "preflight":
        return None
    return "rest" if any(str(c).startswith("GET ") for c in d.get("commands") or ()) else "cli"


@dataclass(frozen=True)
class Plan:
    """Every step of one renewal (one cluster, one unit), in order, plus what the user must know."""

    cluster: str
    product: str
    unit: str
    multi_server: bool
    #: Nodes in scope, publisher first (the restart order).
    nodes: tuple[str, ...]
    #: Nodes a CSR is generated on (the publisher alone for multi-server).
    csr_nodes: tuple[str, ...]
    steps: list[Step]
    options: PlanOptions
    #: The version each node was planned for (None when unknown).
    versions: Mapping[str, str | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    ha_group: str | None = None
    #: Nodes of other clusters the certificate reaches (the IM&P nodes in a CUCM multi-server tomcat
    #: certificate, §2.1): restarted and verified after `nodes`.
    linked_nodes: tuple[str, ...] = ()

    @property
    def all_nodes(self) -> tuple[str, ...]:
        """Every node the job restarts and verifies: the cluster's, then the linked ones."""
        return (*self.nodes, *self.linked_nodes)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def steps_of(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "product": self.product, "unit": self.unit,
                "multi_server": self.multi_server, "nodes": list(self.nodes),
                "csr_nodes": list(self.csr_nodes),
                "steps": [s.to_dict() for s in self.steps], "options": self.options.to_dict(),
                "versions": dict(self.versions), "warnings": list(self.warnings), "risks": list(self.risks),
                "ha_group": self.ha_group, "linked_nodes": list(self.linked_nodes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        return cls(cluster=d["cluster"], product=d["product"], unit=d["unit"],
                   multi_server=bool(d["multi_server"]), nodes=tuple(d["nodes"]),
                   csr_nodes=tuple(d["csr_nodes"]),
                   steps=[Step.from_dict(s) for s in d["steps"]], options=PlanOptions.from_dict(d["options"]),
                   versions=dict(d.get("versions") or {}), warnings=list(d.get("warnings") or ()),
                   risks=list(d.get("risks") or ()), ha_group=d.get("ha_group"),
                   linked_nodes=tuple(d.get("linked_nodes") or ()))
