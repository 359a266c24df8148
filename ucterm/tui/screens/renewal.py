"""Renewal, before anything runs: the options form, then the plan preview.

RenewalScreen: unit, distribution (multi-server where the engine can make it, else disabled with
the reason), nodes (the certificate's node when opened from one), CN and SANs (pre-filled by the
engine's defaults, editable per CSR), key options where the CSR transport allows them, and who
signs. PlanScreen: every step with its node, transport and
exact commands, risky ones marked, plan warnings and risks; `x` runs it after a confirmation.
Both get the session in their constructor; `p` and `x` post PreviewPlan and StartJob to the app.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
)

from ucterm import catalog
from ucterm.errors import UctermError
from ucterm.renewal.plan import multi_server_possible
from ucterm.scan.model import MergedCert
from ucterm.tui.messages import PreviewPlan, StartJob
from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.screens.modals import ConfirmModal
from ucterm.tui.session import Session
from ucterm.tui.view import counted, short_host
from ucterm.tui.widgets.common.safe import safe
from ucterm.tui.widgets.common.toggles import StateCheckbox, StateRadioButton, StateSelectionList
from ucterm.tui.widgets.renewal.plan import PlanStepDetail, PlanStepTable, plan_header

if TYPE_CHECKING:
    from ucterm.inventory import Cluster
    from ucterm.renewal.model import Plan, PlanOptions

KEY_LENGTHS = (2048, 3072, 4096)


class RenewalScreen(BaseScreen):
    """Choose what to renew and how; `p` (or enter in a field) previews the plan."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="renew.back", tooltip="Back to the estate (nothing has run)"),
        Binding("p", "preview", "Preview plan", id="renew.preview",
                tooltip="Build the plan from these options and show every step before anything runs"),
        Binding("ctrl+r", "reset", "Reset", id="renew.reset", tooltip="Back to the suggested CN and SANs"),
    ]

    HELP = ("Renewal options. The CN and SANs are pre-filled from the current certificate and the "
            "names VOS auto-populates; edit them per CSR. Multi-server is offered where ucterm can "
            "make it (the release has it and a certmgr REST API), otherwise shown disabled with the reason; "
            "key sizes only where the CSR is made over the REST API. Space toggles a node; ● / X mark the "
            "chosen options.")

    def __init__(self, session: Session, cluster: str, unit: str, cert: MergedCert | None = None) -> None:
        super().__init__(classes="renewal")
        self.session = session
        self.cluster = cluster
        self.unit = unit
        self.cert = cert
        self.multi = bool(cert is not None and cert.multi_node)
        self.nodes: tuple[str, ...] = tuple(cert.nodes) if cert is not None and not cert.multi_node else ()
        self.edits: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.csr_node: str | None = None
        self.key_length = 2048
        self.include_ou = False
        self._loading_ou = False
        self.confirm_each = False
        self.signer = "files"
        self.defaults: PlanOptions | None = None
        self._loading = False

    # ---- facts --------------------------------------------------------------------------------
    def _cluster(self) -> Cluster:
        assert self.session.inventory is not None
        return self.session.inventory.cluster(self.cluster)

    def _pub_version(self) -> catalog.Version | None:
        c = self._cluster()
        scan = self.session.scan
        result = scan.node_result(c.name, c.publisher.fqdn) if scan else None
        return catalog.parse_version((result.version if result else None) or c.publisher.version or c.version)

    def multi_reason(self) -> str | None:
        """Why multi-server is not offered (the engine's own rule), or None where it is."""
        _possible, reason = multi_server_possible(self._cluster(), self._pub_version(), self.unit)
        return reason

    # ---- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        c = self._cluster()
        version = self._pub_version()
        units = [u.name for u in catalog.units_for(c.product, version)]
        if self.unit not in units:
            units.insert(0, self.unit)
        head = Content.assemble(("Renew", "bold $accent"), "  ", (f"cluster {c.name}", "bold"),
                                (f"  {catalog.PRODUCT_NAMES[c.product]} {version.label if version else ''}",
                                 "$text-muted"))
        yield Static(safe(head), id="title")
        with VerticalScroll(id="renew-form"):
            with Grid(id="renew-grid"):
                yield Label("unit", classes="field-label")
                yield Select([(u, u) for u in units], value=self.unit, allow_blank=False, compact=True, id="unit")
                yield Label("distribution", classes="field-label")
                with Vertical(classes="field"):
                    with RadioSet(id="distribution", compact=True):
                        yield StateRadioButton("multi-server: one certificate for every node", id="multi")
                        yield StateRadioButton("single-server: one certificate per node", id="single")
                    yield Static("", id="multi-reason", classes="reason")
                yield Label("nodes", classes="field-label")
                with Vertical(classes="field"):
                    yield StateSelectionList(id="nodes", compact=True)
                    yield Static("", id="linked", classes="reason")
                yield Label("CSR of", classes="field-label")
                yield Select[str]([], allow_blank=True, prompt="—", compact=True, id="csr-node")
                yield Label("CN", classes="field-label")
                yield Input(compact=True, id="cn")
                yield Label("SANs", classes="field-label")
                yield Input(compact=True, id="sans", placeholder="DNS names, separated by commas or spaces")
                yield Label("key", classes="field-label")
                with Vertical(classes="field"):
                    yield Select([(f"RSA {n}", n) for n in KEY_LENGTHS], value=2048, allow_blank=False,
                                 compact=True, id="key")
                    yield Static("", id="key-reason", classes="reason")
                yield Label("OU", classes="field-label")
                with Vertical(classes="field"):
                    yield StateCheckbox("include the OU in the CSR", id="ou", compact=True)
                    yield Static("", id="ou-reason", classes="reason")
                yield Label("confirm", classes="field-label")
                yield StateCheckbox("ask again before each risky step (else once, before the run)",
                                    id="confirm-each", compact=True)
                yield Label("signed by", classes="field-label")
                with RadioSet(id="signer", compact=True):
                    for choice in self.session.signers:
                        yield StateRadioButton(choice.label, id=f"signer-{choice.key}")
                    yield StateRadioButton("my CA: save the CSR, then bring back what it issued", id="signer-files")
            yield Static("", id="form-error")
            yield Button("Preview the plan (p)", id="preview", variant="primary", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.signer = self.session.default_signer(self.cluster)
        self.query_one(f"#signer-{self.signer}", RadioButton).value = True
        self._load_defaults()
        self.query_one("#unit", Select).focus()

    # ---- state → widgets ------------------------------------------------------------------------
    def _load_defaults(self) -> None:
        session = self.session
        reason = self.multi_reason()
        if reason:
            self.multi = False
        self.edits = {}
        try:
            self.defaults = session.renewal_defaults(self.cluster, self.unit, self.multi)
        except UctermError as exc:
            self.defaults = None
            self._error(str(exc))
            return
        self._loading = True
        try:
            multi_button = self.query_one("#multi", RadioButton)
            multi_button.disabled = reason is not None
            why = self.query_one("#multi-reason", Static)
            why.update(Content.styled(f"multi-server unavailable: {reason}", "$text-muted") if reason else "")
            why.display = reason is not None
            (multi_button if self.multi else self.query_one("#single", RadioButton)).value = True
            c = self._cluster()
            nodes = self.query_one("#nodes", SelectionList)
            nodes.clear_options()
            chosen = set(self.nodes) if self.nodes else {n.fqdn for n in c.nodes}
            for n in c.ordered_nodes():
                role = " (publisher)" if n.is_publisher else ""
                nodes.add_option((f"{n.fqdn}{role}", n.fqdn, n.fqdn in chosen))
            nodes.disabled = self.multi
            nodes.border_title = None
            csr_nodes = self._csr_nodes()
            select = self.query_one("#csr-node", Select)
            select.set_options([(short_host(n), n) for n in csr_nodes])
            if csr_nodes:
                self.csr_node = csr_nodes[0]
                select.value = self.csr_node
            select.disabled = len(csr_nodes) <= 1
            self._show_csr()
            self._show_derived()
        finally:
            self.call_after_refresh(self._done_loading)
        self._error("")

    def _done_loading(self) -> None:
        self._loading = False

    def _csr_nodes(self) -> list[str]:
        if self.defaults is None:
            return []
        c = self._cluster()
        if self.multi:
            return [c.publisher.fqdn.lower()]
        chosen = self._chosen_nodes()
        return [n.fqdn.lower() for n in c.ordered_nodes() if n.fqdn in chosen]

    def _chosen_nodes(self) -> set[str]:
        nodes = self.query_one("#nodes", SelectionList)
        return set(nodes.selected)

    def _request(self, fqdn: str) -> tuple[str, tuple[str, ...]]:
        if fqdn in self.edits:
            return self.edits[fqdn]
        req = self.defaults.csr.get(fqdn) if self.defaults is not None else None
        return (req.common_name, tuple(req.alt_names)) if req is not None else (fqdn, (fqdn,))

    def _show_csr(self) -> None:
        cn_box, sans_box = self.query_one("#cn", Input), self.query_one("#sans", Input)
        if self.csr_node is None:
            cn_box.value, sans_box.value = "", ""
            cn_box.disabled = sans_box.disabled = True
            return
        cn_box.disabled = sans_box.disabled = False
        cn, sans = self._request(self.csr_node)
        # Prefilled from the current certificate: a name holding control characters is shown (and, unless
        # edited, requested) in its visible form, never as raw escape sequences on the terminal.
        cn_box.value = safe(cn)
        sans_box.value = safe(", ".join(sans))

    def _show_derived(self) -> None:
        """What follows from the plan (key size lock, IM&P nodes reached): the plan is built once."""
        plan = self._try_plan(quiet=True)
        self._show_key(plan)
        self._show_ou(plan)
        self._show_linked(plan)

    def _key_reason(self, plan: Plan | None) -> str | None:
        spec = catalog.unit_spec(self.unit)
        if spec.is_ecdsa:
            return "EC units use the platform's curve; there is no key size to choose"
        if plan is None:
            return "the plan cannot be built yet (see below)"
        cli = [s for s in plan.steps if s.kind == "generate_csr" and s.transport == "cli"]
        if cli:
            hosts = ", ".join(short_host(s.node or "") for s in cli)
            # §1.3: `set csr gen` takes no key argument.
            return (f"the CSR on {hosts} is made with `set csr gen` (CLI), which always uses RSA 2048; "
                    "key sizes need the REST API (v14+)")
        return None

    def _ou_fixed(self, plan: Plan | None) -> tuple[bool | None, str | None]:
        """(what every CSR gets, why) where the transport decides the OU, else (None, None) or, where only
        some nodes decide it, (None, which ones and what they do)."""
        if plan is None:
            return None, None
        fixed: dict[str, bool] = {}
        chosen = 0
        for s in plan.steps:
            if s.kind != "generate_csr" or s.node is None:
                continue
            carries = catalog.csr_carries_ou(s.transport, catalog.parse_version(plan.versions.get(s.node)))
            if carries is None:
                chosen += 1
            else:
                fixed[s.node] = carries
        if not fixed:
            return None, None
        hosts = ", ".join(short_host(n) for n in fixed)
        words = []
        if any(fixed.values()):
            words.append("`set csr gen` before 14SU1 always puts the OU from web-security in the CSR of "
                         + ", ".join(short_host(n) for n, c in fixed.items() if c))
        if not all(fixed.values()):
            words.append("the REST API leaves the OU out of the CSR of "
                         + ", ".join(short_host(n) for n, c in fixed.items() if not c))
        if chosen:
            return None, "; ".join(words) + f" (the choice applies to the others, not {hosts})"
        values = set(fixed.values())
        return (values.pop() if len(values) == 1 else None), "; ".join(words)

    def _show_ou(self, plan: Plan | None) -> None:
        value, reason = self._ou_fixed(plan)
        box = self.query_one("#ou", StateCheckbox)
        box.disabled = value is not None
        if value is not None:
            self._loading_ou = True
            box.value = value
            self.include_ou = value
            self._loading_ou = False
        why = self.query_one("#ou-reason", Static)
        why.update(Content.styled(("OU fixed: " if value is not None else "") + reason, "$text-muted")
                   if reason else "")
        why.display = reason is not None

    def _show_key(self, plan: Plan | None) -> None:
        reason = self._key_reason(plan)
        key = self.query_one("#key", Select)
        key.disabled = reason is not None
        if reason:
            self.key_length = 2048
            key.value = 2048
        why = self.query_one("#key-reason", Static)
        why.update(Content.styled(f"key size fixed: {reason}", "$text-muted") if reason else "")
        why.display = reason is not None

    def _show_linked(self, plan: Plan | None) -> None:
        """Name the IM&P nodes a CUCM multi-server tomcat certificate reaches through its SANs (§2.1):
        they are not in this cluster's list, yet the job restarts and verifies them."""
        linked = tuple(plan.linked_nodes) if plan is not None and self.multi else ()
        box = self.query_one("#linked", Static)
        box.update(Content.styled(safe("also reaches " + ", ".join(short_host(n) for n in linked)
                                       + " (IM and Presence, in the SANs): restarted and verified too"),
                                  "$text-muted") if linked else "")
        box.display = bool(linked)

    def _error(self, text: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(Content.styled(safe(text), "bold $error") if text else "")
        box.display = bool(text)

    # ---- widgets → state ------------------------------------------------------------------------
    def _keep_edit(self) -> None:
        if self.csr_node is None or self.defaults is None:
            return
        cn = self.query_one("#cn", Input).value.strip()
        raw = self.query_one("#sans", Input).value.replace(",", " ").split()
        sans = tuple(dict.fromkeys(s.strip().lower() for s in raw if s.strip()))
        if (cn, sans) != self._request(self.csr_node) or self.csr_node in self.edits:
            self.edits[self.csr_node] = (cn, sans)

    @on(Select.Changed, "#unit")
    def _unit_changed(self, event: Select.Changed) -> None:
        if self._loading or event.value == self.unit or event.value is Select.BLANK:
            return
        self.unit = str(event.value)
        self._load_defaults()

    @on(RadioSet.Changed, "#distribution")
    def _distribution_changed(self, event: RadioSet.Changed) -> None:
        multi = event.pressed.id == "multi"
        if self._loading or multi == self.multi:
            return
        self.multi = multi
        self._load_defaults()

    @on(SelectionList.SelectedChanged, "#nodes")
    def _nodes_changed(self) -> None:
        if self._loading or self.multi:
            return
        self._keep_edit()
        self.nodes = tuple(sorted(self._chosen_nodes()))
        csr_nodes = self._csr_nodes()
        select = self.query_one("#csr-node", Select)
        select.set_options([(short_host(n), n) for n in csr_nodes])
        select.disabled = len(csr_nodes) <= 1
        self.csr_node = csr_nodes[0] if csr_nodes else None
        if self.csr_node:
            select.value = self.csr_node
        self._show_csr()
        self._show_derived()

    @on(Select.Changed, "#csr-node")
    def _csr_node_changed(self, event: Select.Changed) -> None:
        if self._loading or event.value is Select.BLANK or event.value == self.csr_node:
            return
        self._keep_edit()
        self.csr_node = str(event.value)
        self._show_csr()

    @on(Input.Changed, "#cn, #sans")
    def _csr_edited(self) -> None:
        if not self._loading:
            self._keep_edit()
            self._show_derived()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_preview()

    @on(Select.Changed, "#key")
    def _key_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int):
            self.key_length = event.value

    @on(StateCheckbox.Changed, "#ou")
    def _ou_changed(self, event: StateCheckbox.Changed) -> None:
        if not self._loading_ou:
            self.include_ou = event.value

    @on(StateCheckbox.Changed, "#confirm-each")
    def _confirm_each_changed(self, event: StateCheckbox.Changed) -> None:
        self.confirm_each = event.value

    @on(RadioSet.Changed, "#signer")
    def _signer_changed(self, event: RadioSet.Changed) -> None:
        if event.pressed.id:
            self.signer = event.pressed.id.removeprefix("signer-")

    @on(Button.Pressed, "#preview")
    def _preview_pressed(self) -> None:
        self.action_preview()

    # ---- the plan -------------------------------------------------------------------------------
    def options(self) -> PlanOptions:
        from ucterm.renewal.model import CsrRequest

        self._keep_edit()
        base = self.defaults
        assert base is not None
        csr = dict(base.csr)
        for fqdn, (cn, sans) in self.edits.items():
            csr[fqdn] = CsrRequest(cn, sans)
        c = self._cluster()
        nodes: tuple[str, ...] = ()
        if not self.multi:
            chosen = self._chosen_nodes()
            if chosen != {n.fqdn for n in c.nodes}:
                nodes = tuple(n.fqdn for n in c.ordered_nodes() if n.fqdn in chosen)
        kind, name = self.session.signer_plan(self.signer)
        return replace(base, multi_server=self.multi, nodes=nodes, csr=csr, key_length=self.key_length,
                       include_ou=self.include_ou, signer=kind, signer_name=name, confirm_each=self.confirm_each)

    def _try_plan(self, *, quiet: bool = False) -> Plan | None:
        session = self.session
        if self.defaults is None:
            return None
        if not self.multi and not self._chosen_nodes():
            if not quiet:
                self._error("choose at least one node (space toggles a node in the list)")
            return None
        try:
            plan = session.build_plan(self.options())
        except UctermError as exc:
            if not quiet:
                self._error(str(exc))
            return None
        if not quiet:
            self._error("")
        return plan

    def action_preview(self) -> None:
        for fqdn, (cn, _sans) in self.edits.items():
            if not cn:
                self._error(f"the CN of the CSR for {short_host(fqdn)} is empty")
                return
        plan = self._try_plan()
        if plan is not None:
            self.post_message(PreviewPlan(plan, self.signer))

    def action_reset(self) -> None:
        self._load_defaults()


class PlanScreen(BaseScreen):
    """Every step before anything runs; `x` runs the plan after a confirmation."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="plan.back", tooltip="Back to the options (nothing has run)"),
        Binding("x", "run", "Run", id="plan.run",
                tooltip="Run the plan: journaled step by step; asks first and lists the risky steps"),
        Binding("j", "cursor('down')", "Down", show=False, id="plan.down"),
        Binding("k", "cursor('up')", "Up", show=False, id="plan.up"),
    ]

    HELP = ("The plan: every step with its node, transport and the exact commands (REST calls, CLI "
            "lines). ⚠ marks risky steps (restarts that drop calls, uploads that replace a certificate, "
            "HA off). The plan's warnings and risks follow the step detail.")

    def __init__(self, plan: Plan, *, session: Session | None = None, signer: str = "files",
                 runnable: bool = True) -> None:
        """`runnable` False: a preview only (a batch job's plan: the batch runs it, `x` on the batch)."""
        super().__init__(classes="plan")
        self.plan = plan
        self.session = session
        self.signer = signer
        self.runnable = runnable

    def compose(self) -> ComposeResult:
        yield Static(plan_header(self.plan), id="title")
        with Vertical(id="plan-body"):
            yield PlanStepTable(self.plan, id="plan-steps")
            yield PlanStepDetail(id="plan-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(PlanStepTable)
        table.border_title = f"plan · {counted(len(self.plan.steps), 'step')}"
        risky = sum(1 for s in self.plan.steps if s.risky)
        table.border_subtitle = f"⚠ {risky} risky" if risky else "nothing risky"
        table.focus()
        self._show(0)

    def _show(self, row: int) -> None:
        if 0 <= row < len(self.plan.steps):
            self.query_one(PlanStepDetail).show_step(self.plan, self.plan.steps[row], row)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(PlanStepTable)
        if direction == "down":
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def disabled_reason(self, action: str) -> str | None:
        if action == "run":
            if not self.runnable:
                return "this plan is one job of a batch: x on the batch runs them all"
            if self.session is None:
                return "the estate is not loaded"
            return self.session.cluster_read_only(self.plan.cluster)
        return None

    def action_run(self) -> None:
        plan = self.plan
        risky = [s for s in plan.steps if s.risky]
        lines: list[str | tuple[str, str]] = [
            f"Run {counted(len(plan.steps), 'step')} on cluster {plan.cluster} ({plan.unit}, "
            f"{'multi-server' if plan.multi_server else 'single-server'})?\n"]
        if risky:
            lines.append((f"\n⚠ {counted(len(risky), 'risky step')}:\n", "bold $warning"))
            for s in risky[:6]:
                lines.append(f"  • {s.name}\n")
            if len(risky) > 6:
                lines.append(f"  • … and {len(risky) - 6} more\n")
            lines.append(("  each asks again before it runs\n" if plan.options.confirm_each else
                          "  yes runs them without asking again (the form's \"confirm\" asks at each)\n",
                          "$text-muted"))
        for r in plan.risks[:3]:
            lines.append((f"\n▲ {r}", "$warning"))
        lines.append(("\n\nEvery step is journaled: a dropped session loses nothing (Jobs, J).", "$text-muted"))

        def answered(yes: bool | None) -> None:
            if yes:  # the modal is off the stack by now: the app may rearrange it
                self.post_message(StartJob(plan, self.signer))

        self.app.push_screen(ConfirmModal("Run the renewal?", Content.assemble(*lines), yes="Run",
                                          no="Not now", danger=bool(risky)), answered)
