"""Waiting for the CA: save the CSR (path shown, PEM ready to copy), take what the CA issued.

From a file path or pasted PEM; validated at once with the `ucterm check` rules against the
job's CSR (findings with their fix) before anything is handed to the runner, so nothing is
uploaded that VOS would refuse. In the demo, the lab CA can sign on the spot.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Footer, Input, Label, Static, TextArea

from ucterm.tui.screens.base import BaseScreen
from ucterm.tui.session import Session
from ucterm.tui.view import short_host
from ucterm.tui.widgets.common.safe import safe

if TYPE_CHECKING:
    from cryptography import x509

    from ucterm.renewal.journal import Job
    from ucterm.renewal.signers import Material, Signer


class SignedCertScreen(BaseScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="signed.back", tooltip="Back to the job (it keeps waiting)"),
        Binding("f2", "lab_sign", "Lab CA signs", id="signed.lab",
                tooltip="Have the lab CA sign the CSR now (demo lab only)"),
        Binding("f3", "copy_csr", "Copy CSR", id="signed.copy",
                tooltip="Copy the CSR's PEM to the clipboard (OSC 52, works over SSH)"),
        Binding("f4", "accept", "Accept", id="signed.accept",
                tooltip="Hand the validated certificate to the job and continue (no errors left)"),
    ]

    HELP = ("Send the CSR to your CA (the file path is shown; F3 copies the PEM). Then give what the CA "
            "issued: one or more file paths, or paste the PEM. Findings appear at once with the fix; "
            "F4 accepts when there is no error, and the job continues with the upload.")

    def __init__(self, job: Job, node: str, *, session: Session | None = None) -> None:
        super().__init__(classes="signed")
        self.job = job
        self.node = node
        self.session = session
        self.csr_pem = job.read_artifact(f"csr-{node}.pem") or ""
        self.csr_path = job.artifact_path(f"csr-{node}.pem")
        self.pems: list[str] = []
        self.ok = False

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble(("The CA's answer", "bold $accent"), "  ",
                                      (f"{self.job.plan.unit} for {short_host(self.node)}", "bold"),
                                      (f"  job {self.job.id}", "$text-muted")), id="title")
        with VerticalScroll(id="signed-form"):
            yield Static(Content.assemble(("1. send the CSR to the CA", "bold"), "  saved in\n",
                                          (str(self.csr_path), "$accent")), id="csr-path")
            yield TextArea(self.csr_pem, read_only=True, id="csr-pem", show_line_numbers=False,
                           soft_wrap=False)
            yield Label(Content.assemble(("2. give what the CA issued", "bold"),
                                         ("  file path(s), separated by spaces", "$text-muted")))
            yield Input(placeholder="/path/to/issued.cer /path/to/chain.p7b", id="signed-paths", compact=True)
            yield Label(Content.styled("   or paste the PEM (certificate and CA chain, any order):",
                                       "$text-muted"))
            yield TextArea("", id="signed-pem", show_line_numbers=False, soft_wrap=False)
            yield Static("", id="findings")
            with Horizontal(id="signed-buttons"):
                if self._lab_signer() is not None:
                    yield Button("Lab CA signs (F2)", id="lab", compact=True)
                yield Button("Accept and continue (F4)", id="accept", variant="primary", compact=True,
                             disabled=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._findings(Content.styled("Waiting for the certificate: give a path or paste the PEM.",
                                      "$text-muted"))
        self.query_one("#signed-paths", Input).focus()

    def _lab_signer(self) -> Signer | None:
        if self.session is None:
            return None
        signer = self.session.signer_for("lab")
        # The lab CA answers at once (Signer.sign); a journaled [[signer]] is the run's business, not this dialog's.
        return cast("Signer", signer) if signer is not None and hasattr(signer, "sign") else None

    # ---- actions -------------------------------------------------------------------------------
    def disabled_reason(self, action: str) -> str | None:
        if action == "lab_sign" and self._lab_signer() is None:
            return "only the demo lab has a CA that signs on the spot; send the CSR to your CA"
        if action == "accept" and not self.ok:
            return "give a certificate that validates without errors first"
        return None

    def action_copy_csr(self) -> None:
        self.app.copy_to_clipboard(self.csr_pem)
        self.say(f"copied the CSR of {short_host(self.node)} ({self.csr_path.name})")

    @on(Button.Pressed, "#lab")
    def _lab_pressed(self) -> None:
        self.action_lab_sign()

    @on(Button.Pressed, "#accept")
    def _accept_pressed(self) -> None:
        self.action_accept()

    @work(exclusive=True, group="lab-sign")
    async def action_lab_sign(self) -> None:
        signer = self._lab_signer()
        if signer is None:
            return
        leaf, chain = await signer.sign(self.csr_pem)
        self.query_one("#signed-pem", TextArea).text = leaf + "".join(chain)

    def action_accept(self) -> None:
        if self.ok and self.pems:
            self.dismiss(list(self.pems))

    # ---- validation (at once, on every change) ------------------------------------------------
    @on(Input.Changed, "#signed-paths")
    @on(TextArea.Changed, "#signed-pem")
    def _changed(self) -> None:
        self.validate_material()

    def validate_material(self) -> None:
        """Judge what was given, every source at once (the path field and the paste area together).

        This node's certificate is the one whose key is its CSR's, wherever it came from; a
        certificate for another CSR of the job goes along (the job matches it by key); one that
        fits no CSR of the job is named by its file with the `ucterm check --csr` findings
        (key-mismatch first, then the SANs) and is left out."""
        from ucterm import pki
        from ucterm.renewal.signers import Material, match_signed
        from ucterm.renewal.unmatched import compare, csr_files, job_csrs, unmatched_leaves

        given, problems = self._given()
        self.pems = []
        self.ok = False
        if given.empty:
            self._findings(Content.assemble(*(("✖ " + p + "\n", "$error") for p in problems))
                           if problems else Content.styled("Waiting for the certificate.", "$text-muted"))
            return
        try:
            csrs = job_csrs(self.job)
            csr = csrs.get(self.node) or pki.load_csr_pem(self.csr_pem)
        except pki.PkiError as exc:
            self._findings(Content.styled(str(exc), "$error"))
            return
        csrs.setdefault(self.node, csr)
        files = csr_files(self.job)
        # What the job holds already counts too: a corrected chain alone completes the certificate
        # an earlier validation refused (the job keeps both and validates them again).
        material = Material([], [])
        material.extend(given)
        material.extend(self._held())
        matched = match_signed(csrs, material)
        mine = matched.get(self.node)
        strays = unmatched_leaves(csrs, material)
        lines: list[Content] = [Content.assemble(("✖ error ", "bold $error"), p) for p in problems]
        for leaf in strays:
            node, found = compare(leaf, csrs, csr_files=files)
            where = f"compared with the CSR of {short_host(node)}" if node else "it names no node of this job"
            glyph, style = ("▲ left out", "bold $warning") if mine is not None else ("✖ error", "bold $error")
            lines.append(Content.assemble((glyph, style), f" {material.source_of(leaf)} ('{pki.label(leaf)}') "
                                                          f"matches no CSR of this job; {where}"))
            for f in found:
                lines.append(Content.assemble("   ", (f"[{f.code}] ", "bold"), f.message))
                lines.append(Content.assemble(("   fix: ", "$text-muted"), pki.dialog_fix(f.fix)))
        others = [n for n in matched if n != self.node]
        if others:
            lines.append(Content.styled("· also given: the certificate for " + ", ".join(map(short_host, others))
                                        + " (the job takes it too)", "$text-muted"))
        if mine is None:
            if not strays:
                lines.insert(0, Content.styled(f"✖ no certificate for {short_host(self.node)}'s CSR among what was "
                                               "given", "bold $error"))
            self._findings(Content("\n").join(lines))
            return
        now = self.session.now() if self.session else dt.datetime.now(dt.UTC)
        report = pki.check_material([mine, *material.cas], csr, unit=self.job.plan.unit,
                                    multi_server=self.job.plan.multi_server, now=now, trusted=self._trusted(),
                                    leaf=mine, csr_origin=f"in {self.csr_path.name}")
        for f in report.findings:
            glyph, style = ("✖ error", "bold $error") if f.is_error else ("▲ warning", "bold $warning")
            lines.append(Content.assemble((glyph, style), f" [{f.code}] {f.message}"))
            lines.append(Content.assemble(("   fix: ", "$text-muted"), pki.dialog_fix(f.fix)))
        s = pki.summarise(mine, now)
        lines.insert(0, Content.assemble(("certificate ", "$text-muted"), (s.subject_cn, "bold"),
                                         (f"  from {material.source_of(mine)}, until {s.not_after:%Y-%m-%d}, "
                                          f"issued by {s.issuer_cn}", "$text-muted")))
        for note in report.notes:
            lines.append(Content.styled(f"· {note}", "$text-muted"))
        self.ok = report.ok and not problems
        if self.ok:
            self.pems = [pki.pem(c) for c in (*given.leaves, *given.cas) if c not in strays]
            lines.append(Content.styled("✔ ready: F4 hands it to the job, which uploads it next", "bold $success"))
        self._findings(Content("\n").join(lines))

    def _held(self) -> Material:
        """The certificate and chain this node's job folder holds from an earlier answer, if any."""
        from ucterm import pki
        from ucterm.renewal.signers import Material

        text = "".join(self.job.read_artifact(f"{kind}-{self.node}.pem") or "" for kind in ("cert", "chain"))
        certs = pki.load_bundle(text.encode("utf-8"), "the job folder").certificates if text.strip() else []
        return Material.from_pems([pki.pem(c) for c in certs], "the job folder")

    def _given(self) -> tuple[Material, list[str]]:
        """Everything in the path field and the paste area, each certificate with where it came from."""
        from ucterm import pki
        from ucterm.renewal.signers import Material

        material = Material([], [])
        problems: list[str] = []
        for raw in self.query_one("#signed-paths", Input).value.split():
            path = Path(raw).expanduser()
            try:
                bundle = pki.load_file(path)
            except pki.PkiError as exc:
                problems.append(str(exc))
                continue
            if not bundle.certificates:
                problems.append(f"{path}: {bundle.describe_problems() or 'no certificate found'}")
                continue
            material.extend(Material.from_pems([pki.pem(c) for c in bundle.certificates], path.name))
        pasted = self.query_one("#signed-pem", TextArea).text
        if pasted.strip():
            bundle = pki.load_bundle(pasted.encode("utf-8", "replace"), "the pasted text")
            if not bundle.certificates:
                problems.append(f"the pasted text: {bundle.describe_problems() or 'no certificate found'}")
            else:
                material.extend(Material.from_pems([pki.pem(c) for c in bundle.certificates], "the pasted text"))
        return material, problems

    def _trusted(self) -> list[x509.Certificate]:
        """The CA certificates the node holds in the unit's trust store (from the last scan)."""
        from cryptography import x509

        from ucterm import catalog

        if self.session is None or self.session.scan is None:
            return []
        store = catalog.unit_spec(self.job.plan.unit).trust_store
        out = []
        for r in self.session.scan.for_node(self.job.plan.cluster, self.node):
            if r.store == store and r.pem:
                try:
                    out.append(x509.load_pem_x509_certificate(r.pem.encode()))
                except ValueError:
                    continue
        return out

    def _findings(self, content: Content) -> None:
        self.query_one("#findings", Static).update(safe(content))
        self.query_one("#accept", Button).disabled = not self.ok
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss(None)
