"""What the app works on: the inventory, the last scan, credentials, the clock, the signers.

The session is the TUI's only door to the engine. Engine modules are imported inside the
methods that need them, so that opening the app from the last scan costs no SSH or HTTP
imports, and tests can render the app from a recorded scan without any engine at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from ucterm.credentials import CredentialStore
from ucterm.errors import CredentialError, UctermError
from ucterm.events import EventSink
from ucterm.scan.model import CertRecord, MergedCert, NodeResult, ScanResult, load_scan, save_scan

if TYPE_CHECKING:
    # The engine's types, for the checker only: at run time these modules load on first use (the
    # runner and the signers bring asyncssh and httpx, which opening the app must not pay for).
    from ucterm.inventory import Cluster, Inventory
    from ucterm.renewal.due import DueSelection, LeftAlone
    from ucterm.renewal.journal import JobSummary
    from ucterm.renewal.model import Plan, PlanOptions
    from ucterm.renewal.signers import JournaledSigner, Signer
    from ucterm.renewal.steps import RunnerSettings
    from ucterm.signer_config import SignerConfig

Clock = Callable[[], dt.datetime]
#: PlanOptions.signer: who signs a job's CSRs.
SignerKind = Literal["files", "lab", "signer"]


class AskCredentials(Protocol):
    """The app's way of asking every `prompt` password the engine will need, in a modal, before the
    engine starts (`UctermApp.ask_credentials`); False if the user cancelled. Screens that start
    engine work get it in their constructor."""

    async def __call__(self, clusters: Sequence[str] | None = None, *, app_user: bool = False,
                       signer: str | None = None) -> bool: ...


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def frozen_clock(moment: dt.datetime) -> Clock:
    """A clock that always says `moment` (snapshots, tests)."""
    return lambda: moment


def _no_terminal_prompt(question: str) -> str:
    # The engine asks synchronously; the TUI asks every `prompt` credential in a modal before it
    # starts engine work (see UctermApp.ask_credentials), so reaching this is a missed question.
    raise CredentialError(f"{question.rstrip(': ')} was not asked for yet; press r to refresh and answer it.")


@dataclass(frozen=True)
class CredentialQuestion:
    """One `prompt` reference the engine will resolve, with the words it will use."""

    reference: str
    what: str
    user: str | None


@dataclass(frozen=True)
class SignerChoice:
    """A way to have a CSR signed that the app can offer (the inventory's signers, the lab CA in the demo)."""

    key: str
    label: str
    factory: Callable[[], Signer | JournaledSigner]
    #: What the plan records for it (PlanOptions.signer, signer_name): ("lab", None) or ("signer", NAME).
    plan: tuple[SignerKind, str | None] = ("lab", None)


#: How the renewal form names each kind of `[[signer]]`.
_KIND_WORDS = {"adcs": "AD CS web enrollment", "vault": "Vault PKI", "acme": "ACME CA",
               "command": "your signing program"}


def inventory_signers(inventory: Inventory) -> tuple[SignerChoice, ...]:
    """One choice per `[[signer]]` of the inventory; the signer is built when a job runs."""
    out = []
    for index, config in enumerate(inventory.signers):
        def factory(config: SignerConfig = config) -> Signer | JournaledSigner:
            from ucterm.renewal.signers import build_signer

            return build_signer(config)

        key = f"cfg{index}-" + re.sub(r"[^A-Za-z0-9_-]", "-", config.name)
        out.append(SignerChoice(key, f"{config.name}: {_KIND_WORDS.get(config.kind, config.kind)} signs the CSR",
                                factory, ("signer", config.name)))
    return tuple(out)


def lab_ca_choice(folder: Path) -> SignerChoice:
    """The lab CA of an inventory `ucterm lab --write-inventory` wrote (its lab_ca folder): the TUI
    offers it as `ucterm renew --lab-ca` does."""

    def factory() -> Signer:
        from ucterm.renewal.signers import lab_ca_signer

        return lab_ca_signer(folder)

    return SignerChoice("lab", "the lab CA signs the CSR at once (lab inventory)", factory)


@dataclass
class Session:
    inventory: Inventory | None
    inventory_path: Path | None
    scan: ScanResult | None = None
    credentials: CredentialStore = field(default_factory=lambda: CredentialStore(prompter=_no_terminal_prompt))
    clock: Clock = system_clock
    #: Why renewal actions are disabled (`--read-only`, the inventory's read_only), or None.
    read_only_reason: str | None = None
    #: Where the last scan is kept; None keeps it in memory only.
    scan_file: Path | None = None
    signers: Sequence[SignerChoice] = ()
    #: A short name for the title bar ("demo", the inventory's file name).
    label: str = ""
    #: (reference, what) pairs already answered in a modal.
    answered: set[tuple[str, str]] = field(default_factory=set)
    #: current_scan()'s answer: (scan, inventory, minute, result, live version).
    _current: tuple[ScanResult | None, Inventory | None, dt.datetime, ScanResult, int] | None = field(
        default=None, repr=False, compare=False)
    #: The runner's timing knobs (`ucterm.renewal.RunnerSettings`); None: the engine's defaults.
    runner_settings: RunnerSettings | None = None
    #: Cluster → the maintenance window a job's restarts wait for there (reload_jobs; the estate tree).
    windows: dict[str, str] = field(default_factory=dict)
    #: A sentence the main screen shows above the estate (plain `ucterm` on the demo: there is no inventory).
    banner: str = ""
    #: Nodes a running scan has finished, shown over the last scan until the scan ends.
    _live: dict[tuple[str, str], tuple[NodeResult, tuple[CertRecord, ...]]] = field(
        default_factory=dict, repr=False, compare=False)
    _live_version: int = field(default=0, repr=False, compare=False)

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def open(cls, inventory_path: Path, *, read_only: bool = False, clock: Clock = system_clock,
             scan_file: Path | None = None, signers: Sequence[SignerChoice] = (), label: str = "") -> Session:
        """Load the inventory (errors propagate as one sentence) and the last scan, if any."""
        from ucterm.inventory import load_inventory

        inventory = load_inventory(inventory_path)
        reason = None
        if read_only:
            reason = "read-only mode (--read-only): renewal actions are disabled"
        elif inventory.clusters and all(c.settings.read_only for c in inventory.clusters):
            reason = f"read-only mode (read_only = true in {inventory_path.name}): renewal actions are disabled"
        scan = load_scan(scan_file) if scan_file is not None else None
        if not signers and inventory.defaults.lab_ca is not None:
            signers = (lab_ca_choice(inventory.defaults.lab_ca),)
        # The inventory's own signers first (the cluster's `signer =` is preselected), then what the caller offers.
        choices: dict[str, SignerChoice] = {c.key: c for c in inventory_signers(inventory)}
        for choice in signers:
            choices.setdefault(choice.key, choice)
        return cls(inventory=inventory, inventory_path=inventory_path, scan=scan, clock=clock,
                   read_only_reason=reason, scan_file=scan_file, signers=tuple(choices.values()),
                   label=label or inventory_path.name)

    # ---- questions ---------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock()

    def current_scan(self) -> ScanResult | None:
        """The last scan with days-left recounted for now and the inventory's thresholds, per cluster
        where a cluster sets its own.

        Every redraw asks for it (each filter or palette keystroke): the answer is kept until the
        scan, the inventory or the minute changes.
        """
        if self.scan is None and not self._live:
            return None
        now = self.now()
        minute = now.replace(second=0, microsecond=0)
        cached = self._current
        if (cached is not None and cached[0] is self.scan and cached[1] is self.inventory and cached[2] == minute
                and cached[4] == self._live_version):
            return cached[3]
        base = self.scan or ScanResult(generated_at=now, nodes=(), certificates=())
        if self._live:
            # A scan under way: the nodes it finished replace their rows of the last scan.
            base = base.with_nodes([n for n, _ in self._live.values()],
                                   [c for _, certs in self._live.values() for c in certs])
        if self.inventory is None:
            result = base.aged(now)
        else:
            d = self.inventory.defaults
            result = base.reclassified(
                warn_days=d.warn_days, crit_days=d.crit_days, now=now,
                thresholds={c.name: (c.settings.warn_days, c.settings.crit_days) for c in self.inventory.clusters})
        self._current = (self.scan, self.inventory, minute, result, self._live_version)
        return result

    def node_scanned(self, result: NodeResult, certificates: Sequence[CertRecord]) -> None:
        """A node the running scan finished: shown at once (current_scan), until the scan ends."""
        self._live[(result.cluster, result.node)] = (result, tuple(certificates))
        self._live_version += 1

    def cluster(self, name: str) -> Cluster | None:
        if self.inventory is None:
            return None
        for c in self.inventory.clusters:
            if c.name == name:
                return c
        return None

    def cluster_read_only(self, name: str) -> str | None:
        if self.read_only_reason:
            return self.read_only_reason
        cluster = self.cluster(name)
        if cluster is not None and cluster.settings.read_only:
            return f'cluster "{name}" is read-only (read_only = true in the inventory)'
        return None

    def credential_questions(self, clusters: Iterable[str] | None = None, *,
                             app_user: bool = False, signer: str | None = None) -> list[CredentialQuestion]:
        """`prompt` credentials the engine will need for these clusters (and the `[[signer]]` named
        `signer`) and not asked yet."""
        if self.inventory is None:
            return []
        out = self._signer_questions(signer)
        wanted = set(clusters) if clusters is not None else None
        for c in self.inventory.clusters:
            if wanted is not None and c.name not in wanted:
                continue
            for node in c.ordered_nodes():
                s = c.settings_for(node)
                pairs = [("os_password", s.os_password, s.os_user)]
                if app_user and s.app_user:
                    pairs.append(("app_password", s.app_password or "", s.app_user))
                for name, reference, user in pairs:
                    if reference != "prompt":
                        continue
                    question = CredentialQuestion(reference, c.password_what(name, node), user)
                    # Nodes without their own password share the cluster's question: ask it once.
                    if (reference, question.what) not in self.answered and question not in out:
                        out.append(question)
        return out

    def _signer_questions(self, name: str | None) -> list[CredentialQuestion]:
        if self.inventory is None or name is None or not any(s.name == name for s in self.inventory.signers):
            return []
        config = self.inventory.signer(name)
        user = getattr(config.spec, "user", None)
        return [CredentialQuestion(reference, config.what(field), user)
                for field, reference in config.secret_references.items()
                if reference == "prompt" and (reference, config.what(field)) not in self.answered]

    def remember(self, question: CredentialQuestion, value: str) -> None:
        self.credentials.remember(question.reference, question.what, value)
        self.answered.add((question.reference, question.what))

    # ---- scanning ----------------------------------------------------------------------------
    async def run_scan(self, sink: EventSink, clusters: Sequence[str] | None = None) -> ScanResult:
        """Scan (all or some clusters), merge into the last scan, keep it on disk."""
        from ucterm.scan import scan_estate

        assert self.inventory is not None
        self._live.clear()
        try:
            result: ScanResult = await scan_estate(self.inventory, self.credentials, sink=sink,
                                                   clusters=list(clusters) if clusters else None, previous=self.scan)
        finally:
            self._live.clear()
            self._live_version += 1
        if clusters and self.scan is not None:
            result = self.scan.with_clusters(result)
        self.scan = result
        if self.scan_file is not None:
            # A cache that cannot be written is not worth interrupting the user for.
            with contextlib.suppress(OSError):
                save_scan(result, self.scan_file)
        return result


    # ---- host keys -----------------------------------------------------------------------------
    async def accept_host_key(self, cluster: str, node: str, fingerprint: str) -> None:
        """Record the host key the user accepted, after checking the node still presents that one.

        The scan keeps only the fingerprint, so the key is read again; if the node now presents a
        different key, nothing is recorded (the user accepted a fingerprint, not whatever comes).
        """
        from ucterm.errors import UctermError
        from ucterm.vos import Unreachable, accept_host_key, fetch_host_key
        from ucterm.vos import fingerprint as fingerprint_of

        assert self.inventory is not None
        c = self.inventory.cluster(cluster)
        n = c.node(node)
        port = n.port("ssh")
        try:
            key = await fetch_host_key(n.address, port, timeout=20, node=n.fqdn)
        except Unreachable as exc:
            raise UctermError(f"{n.fqdn}: cannot read its host key again on {n.address} port {port} "
                              f"({exc.reason}); nothing was recorded: try again when the node answers.") from None
        if fingerprint_of(key) != fingerprint:
            shown = fingerprint_of(key)
            raise UctermError(f"{n.fqdn} now presents the host key {shown}, not the {fingerprint} you accepted; "
                              "nothing was recorded: check the node before connecting.")
        accept_host_key(c.settings_for(n).known_hosts_path, n.fqdn, port, key, address=n.address)

    # ---- renewal -------------------------------------------------------------------------------
    def renewal_defaults(self, cluster: str, unit: str, multi_server: bool) -> PlanOptions:
        """The form's starting options, with the units renewed on this cluster lately (the plan's
        never-together warning). The journal is read here, once per form load, not per keystroke."""
        from dataclasses import replace

        from ucterm.errors import UctermError
        from ucterm.renewal.journal import recent_units
        from ucterm.renewal.plan import defaults_for

        assert self.inventory is not None
        options = defaults_for(self.inventory, self.scan, cluster, unit, multi_server)
        try:
            recent = recent_units(cluster)
        except (UctermError, OSError):
            recent = {}  # an unreadable journal folder costs the warning, not the renewal
        return replace(options, recent_units=recent) if recent else options

    def build_plan(self, options: PlanOptions) -> Plan:
        """The plan for `options` (pure); raises PlanError/InventoryError with one sentence."""
        from ucterm.renewal.plan import build_plan

        assert self.inventory is not None
        return build_plan(self.inventory, self.scan, options)

    def signer_for(self, key: str) -> Signer | JournaledSigner | None:
        for choice in self.signers:
            if choice.key == key:
                return choice.factory()
        return None

    def signer_plan(self, key: str) -> tuple[SignerKind, str | None]:
        """(PlanOptions.signer, signer_name) for a choice of the form; ("files", None) for "my CA"."""
        return next((c.plan for c in self.signers if c.key == key), ("files", None))

    def signer_key(self, signer: SignerKind, name: str | None) -> str:
        """The form's key for what a plan records (resuming a job with the signer it was planned with)."""
        return next((c.key for c in self.signers if c.plan == (signer, name)), "files")

    def default_signer(self, cluster: str) -> str:
        """The cluster's `signer = NAME` if the app offers it, else the first choice, else "files"."""
        configured = self.inventory.cluster(cluster).settings.signer if self.inventory is not None else None
        if configured:
            key = self.signer_key("signer", configured)
            if key != "files":
                return key
        return self.signers[0].key if self.signers else "files"

    # ---- batches -------------------------------------------------------------------------------
    def due_selection(self) -> DueSelection:
        """Everything due on the last scan (each cluster's warn_days; the high-risk units left, said so).
        Reads the journal; no node is contacted."""
        from ucterm.renewal.batch import installed_by_finished_jobs
        from ucterm.renewal.due import select_due
        from ucterm.renewal.journal import list_jobs, recent_units

        assert self.inventory is not None
        scan = self.current_scan()
        if scan is None:
            raise UctermError("the estate has not been scanned yet; press r to scan it first.")
        jobs = list_jobs()
        names = [c.name for c in self.inventory.clusters]
        selection = select_due(self.inventory, scan, days=self.inventory.defaults.warn_days,
                               days_for={c.name: c.settings.warn_days for c in self.inventory.clusters}, jobs=jobs,
                               installed=installed_by_finished_jobs(jobs, names),
                               recent={n: recent_units(n, jobs) for n in names})
        # The engine's sentence names the command line's way in (--unit); here it is the marks.
        left = tuple(replace(item, reason=(
            f"{item.unit} on cluster {item.cluster} is due, but high-risk units (their restarts re-register phones "
            "and touch the ITL/CTL files) are renewed only when you choose them: mark the certificate (space) "
            "and press n")) if item.kind == "high-risk" else item for item in selection.left)
        return replace(selection, left=left)

    def marked_selection(self, marked: Sequence[MergedCert]) -> DueSelection:
        """The certificates the user marked, renewed like for like (every node that holds each)."""
        from ucterm.renewal.due import select_marked
        from ucterm.renewal.journal import list_jobs, recent_units

        assert self.inventory is not None
        scan = self.current_scan()
        if scan is None:
            raise UctermError("the estate has not been scanned yet; press r to scan it first.")
        keys = {(m.cluster, m.unit, m.record.fingerprint_sha256) for m in marked if m.store == "own"}
        records = [c for c in scan.certificates if (c.cluster, c.unit, c.fingerprint_sha256) in keys and c.is_identity]
        jobs = list_jobs()
        return select_marked(self.inventory, scan, records, jobs=jobs,
                             recent={n: recent_units(n, jobs) for n in {c.cluster for c in records}})

    def batch_proposal(self, selection: DueSelection, *, kind: str = "due") -> BatchProposal:
        """The plans of a selection, signed by each cluster's default signer; a renewal that cannot be
        planned is left, with the planner's sentence."""
        from ucterm.renewal.due import LeftAlone, options_for
        from ucterm.renewal.journal import list_jobs, recent_units
        from ucterm.renewal.plan import build_plan

        assert self.inventory is not None
        scan = self.current_scan()
        assert scan is not None
        plans: list[Plan] = []
        signers: dict[str, str] = {}
        left = list(selection.left)
        jobs = list_jobs() if selection.renew else []
        for renewal in selection.renew:
            key = self.default_signer(renewal.cluster)
            try:
                plan = build_plan(self.inventory, scan, options_for(
                    self.inventory, scan, renewal, signer=self.signer_plan(key),
                    recent=recent_units(renewal.cluster, jobs)))
            except UctermError as exc:
                left.append(LeftAlone(renewal.cluster, renewal.unit, "not-like-for-like",
                                      f"{renewal.describe()} cannot be planned: {exc}", renewal.nodes))
                continue
            plans.append(plan)
            signers[f"{plan.cluster}/{plan.unit}"] = key
        return BatchProposal(plans=plans, resume=list(selection.resume), left=left, signers=signers,
                             kind=f"due{selection.days}" if kind == "due" else kind)

    def reload_jobs(self) -> None:
        """Read the journal for what the estate tree shows of jobs: which clusters wait for their window."""
        from ucterm.renewal.journal import list_jobs

        try:
            jobs = list_jobs()
        except (UctermError, OSError):
            return
        self.windows = {j.cluster: j.window["window"] for j in jobs if j.window and j.status == "waiting"}


@dataclass
class BatchProposal:
    """What a batch would do, shown before it runs: new jobs (`plans`), jobs to resume, what is left."""

    plans: list[Plan]
    resume: list[JobSummary]
    left: list[LeftAlone]
    #: `cluster/unit` → the signer choice (SignerChoice.key or "files") of each new plan.
    signers: dict[str, str] = field(default_factory=dict)
    #: What made it, for the batch id (renewal.batch.new_batch_id): "marked", or "due" and the days.
    kind: str = "due"

    @property
    def empty(self) -> bool:
        return not self.plans and not self.resume
