"""What each kind of step does, and how it reconciles after an interruption.

Every side effect follows the same pattern: read the node, write an *intent* to the journal,
act, write *done*. A step that finds an intent without its done (the process died in
between) does not repeat blindly: it asks the node what really happened (is the new
certificate installed? is the CSR on the node the one this job made? did the restart command
reach the node?) and records the answer. The runner (:mod:`ucterm.renewal.runner`) owns the
loop, the events and the user's controls; this module owns the Cisco procedure.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509

from ucterm import catalog, pki
from ucterm.credentials import CredentialStore
from ucterm.errors import UctermError
from ucterm.inventory import Cluster, Inventory
from ucterm.renewal.journal import Job
from ucterm.renewal.model import CsrRequest, RestartItem, Step, StepKind
from ucterm.renewal.nodes import NodeAccess
from ucterm.renewal.plan import build_plan
from ucterm.renewal.signers import JournaledSigner, Material, Signer, SignerPending, match_signed
from ucterm.vos import SessionDropped
from ucterm.vos.probe import PORT_KINDS
from ucterm.vos.transport import Channel


class Waiting(Exception):
    """The job cannot go on until the user acts (the CA's answer, a manual HA toggle)."""


class Skip(Exception):
    """The step does not apply (e.g. HA was never on); the reason is recorded."""


class Declined(Exception):
    """The user answered no to a confirmation."""


class StepError(UctermError):
    """A step failed: one sentence naming the node, what happened, and what to do."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class RunnerSettings:
    """Timing knobs. Defaults fit real VOS (§1.9: restarts take up to 10 minutes); tests shrink them."""

    poll_interval: float = 2.0
    restart_timeout: float = catalog.RESTART_TIMEOUT_S
    #: How long a service may stay STARTING after its restart command returned.
    started_timeout: float = catalog.RESTART_TIMEOUT_S
    verify_timeout: float = 180.0
    ha_timeout: float = 900.0
    probe_timeout: float = 5.0


class Context(Protocol):
    job: Job
    inventory: Inventory
    settings: RunnerSettings
    signer: Signer | JournaledSigner | None
    material: Material
    now: Callable[[], datetime]

    @property
    def credentials(self) -> CredentialStore: ...

    @property
    def interactive(self) -> bool: ...

    def access(self, fqdn: str) -> NodeAccess: ...

    def axl_access(self) -> NodeAccess: ...

    async def progress(self, step: Step, message: str) -> None: ...

    async def confirm(self, step: Step, question: str, *, consent: bool = True) -> None:
        """Ask the person running the job; `consent=False` for a manual action they report done (never
        answered in advance by the run's one confirmation)."""


def short(fp: str) -> str:
    return ":".join(fp[i:i + 2] for i in range(0, 16, 2)).upper()


def _describe_csr(csr: x509.CertificateSigningRequest) -> str:
    sans = sorted(pki.sans_of(csr))
    return f"CN={pki.cn_of(csr.subject)}" + (f", SANs {', '.join(sans)}" if sans else "")


def _describe_cert(cert: x509.Certificate) -> str:
    return (f"CN={pki.cn_of(cert.subject)}, issued by {pki.cn_of(cert.issuer)}, valid until "
            f"{cert.not_valid_after_utc:%Y-%m-%d}")


def _certs(text: str | None) -> list[x509.Certificate]:
    if not text:
        return []
    return list(pki.load_bundle(text.encode("utf-8"), "journal").certificates)


def _merged(first: list[x509.Certificate], then: list[x509.Certificate]) -> list[x509.Certificate]:
    """`first`, then those of `then` not in it (by fingerprint)."""
    seen = {pki.sha256_hex(c) for c in first}
    return [*first, *(c for c in then if pki.sha256_hex(c) not in seen)]


def source_label(signer: object) -> str:
    return str(getattr(signer, "label", "the signer"))


def _still_fits(planned: Step, fresh: Step) -> bool:
    """Whether a step planned for one release still does the job on the release the node really runs.

    The CLI works on every release for single-server work (§1.3, §1.7), so a CLI step stays valid
    where REST would now be chosen; REST planned for a node without it does not. A restart list
    may be larger than needed (services absent from the node are skipped, not failed) but never
    smaller.
    """
    if planned.kind == "restart":
        return {r.service for r in fresh.restarts} <= {r.service for r in planned.restarts}
    return planned.transport == fresh.transport or planned.transport == "cli"


class StepWorker:
    """Runs one step of a job against its nodes (see the module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        #: What each step kind does: every StepKind has its entry (tests/renewal checks that), so a
        #: new kind without one fails there, not in the middle of somebody's renewal.
        self.handlers: dict[StepKind, Callable[[Step], Awaitable[str]]] = {
            "preflight": self._preflight,
            "generate_csr": self._generate_csr,
            "save_csr": self._save_csr,
            "obtain_signed": self._obtain_signed,
            "validate": self._validate,
            "upload_trust": self._upload_trust,
            "upload_identity": self._upload_identity,
            "ha_disable": self._ha_disable,
            "restart": self._restart,
            "ha_enable": self._ha_enable,
            "verify": self._verify,
        }
        #: One request to the signer per CSR at a time: a node's own obtain step and another node's step
        #: handing it to the CA too (_submit_the_others) run side by side.
        self._signing: dict[str, asyncio.Lock] = {}

    def _signing_lock(self, node: str) -> asyncio.Lock:
        return self._signing.setdefault(node.lower(), asyncio.Lock())

    @property
    def job(self) -> Job:
        return self.ctx.job

    @property
    def cluster(self) -> Cluster:
        return self.ctx.inventory.cluster(self.job.plan.cluster)

    @property
    def unit(self) -> str:
        return self.job.plan.unit

    @property
    def store(self) -> str:
        return catalog.unit_spec(self.unit).trust_store

    async def run(self, step: Step) -> str:
        return await self.handlers[step.kind](step)

    # ---- shared facts --------------------------------------------------------------------------

    def _done_data(self, step_id: str, action: str) -> dict[str, Any]:
        rec = self.job.steps.get(step_id)
        if rec is None or action not in rec.done:
            raise StepError(f"the journal of job {self.job.id} has no record of {step_id} ({action}); "
                            "the job folder is damaged: start a new job.")
        return rec.done[action]

    def _csr_of(self, node: str) -> x509.CertificateSigningRequest:
        return pki.load_csr_pem(self._done_data(f"generate_csr:{node}", "generate")["csr"])

    def _validated(self, csr_node: str) -> dict[str, Any]:
        return self._done_data(f"validate:{csr_node}", "validated")

    def _new_fingerprint(self, node: str) -> str:
        """The certificate `node` must serve at the end: its own, or the publisher's multi-server one."""
        csr_node = self.job.plan.csr_nodes[0] if self.job.plan.multi_server else node
        return str(self._validated(csr_node)["leaf"])

    def _read_transport(self, step: Step) -> Channel:
        """The channel the plan chose for reading this node (journals of 0.1.0 get it from their
        commands when they load: Step.from_dict)."""
        return step.read_transport or "cli"

    # ---- 1. preflight --------------------------------------------------------------------------

    async def _preflight(self, step: Step) -> str:
        node = step.node or ""
        a = self.ctx.access(node)
        version = await a.version()
        self.job.fact(f"version:{node}", version)
        self._check_plan_fits(node, version)
        services = await a.services()
        serving = catalog.serving_service(a.cluster.product, catalog.parse_version(version), self.unit)
        state = services.get(serving.lower()) if serving else None
        if state is not None and state.state not in ("STARTED", "RUNNING"):
            raise StepError(f"{node}: {serving} is {state.state} before the renewal; the end of the job could not "
                            "prove that the new certificate is served",
                            f"start it (utils service start {serving}) and check `utils service list`, then retry")
        for item in self._restart_items(node):
            st = services.get(item.service.lower())
            if st is not None and st.state not in ("STARTED", "RUNNING"):
                await self.ctx.progress(step, f"{item.service} is {st.state}"
                                              + (f" ({st.reason})" if st.reason else ""))
        ws = await a.web_security()
        dn = ws.subject_dn or "(not shown)"
        await self.ctx.progress(step, f"show web-security: {dn}")
        transport = self._read_transport(step)
        current = await a.identity(self.unit, transport)
        self.job.fact(f"identity_before:{node}", pki.sha256_hex(current))
        await self.ctx.progress(step, f"current {self.unit}: {_describe_cert(current)}")
        parts = [version, f"DN {dn}"]
        if node in self.job.plan.csr_nodes:
            csr = await a.csr(self.unit)
            self.job.fact(f"csr_before:{node}", pki.public_key_sha256(csr) if csr is not None else None)
            if csr is not None:
                await self.ctx.progress(step, f"outstanding {self.unit} CSR found: {_describe_csr(csr)}; it is "
                                              "kept unless it differs from the plan and --regenerate-csr is given")
                parts.append("outstanding CSR found")
            else:
                parts.append("no outstanding CSR")
            trusted = await a.trust(self.store, transport)
            self.job.write_artifact(f"trusted-{node}.pem", "".join(pki.pem(c) for c in trusted))
        if any(s.kind == "ha_disable" for s in self.job.plan.steps) and node == self.cluster.publisher.fqdn:
            enabled = any(s.ha_enabled for s in await a.ha_status())
            self.job.fact("ha_was_enabled", enabled)
            parts.append(f"HA {'on' if enabled else 'off'}")
        return "; ".join(parts)

    def _check_plan_fits(self, node: str, version: str) -> None:
        """Stop if the node's real release would change this node's steps (transport, restarts)."""
        plan = self.job.plan
        planned = plan.versions.get(node)
        if planned and catalog.parse_version(planned) == catalog.parse_version(version):
            return
        cluster = self.ctx.access(node).cluster  # a linked IM&P node lives in its own cluster
        nodes = tuple(replace(n, version=version) if n.fqdn == node else n for n in cluster.nodes)
        inv = self.ctx.inventory
        clusters = tuple(replace(c, nodes=nodes) if c.name == cluster.name else c for c in inv.clusters)
        try:
            fresh = build_plan(replace(inv, clusters=clusters), None, plan.options)
        except UctermError as exc:
            raise StepError(f"{node} runs {version}, not {planned or 'the release the plan assumed'}: {exc}") \
                from None

        fresh_steps = {s.id: s for s in fresh.steps}
        for planned_step in plan.steps:
            if planned_step.node != node or planned_step.kind == "preflight":
                continue  # the preflight itself is running now: only what comes after it must still fit
            other = fresh_steps.get(planned_step.id)
            if other is None or not _still_fits(planned_step, other):
                raise StepError(f"{node} runs {version}, not {planned or 'the release the plan assumed'}, and "
                                f"that changes how it is renewed ({planned_step.name})",
                                f"start a new job (`ucterm renew --cluster {plan.cluster} --unit {plan.unit}`) so "
                                "the plan fits the node")

    def _restart_items(self, node: str) -> tuple[RestartItem, ...]:
        for s in self.job.plan.steps:
            if s.kind == "restart" and s.node == node:
                return s.restarts
        return ()

    # ---- 2. generate the CSR -------------------------------------------------------------------

    async def _generate_csr(self, step: Step) -> str:
        node = step.node or ""
        rec = self.job.steps[step.id]
        a = self.ctx.access(node)
        req = step.csr or CsrRequest(node)
        before = self.job.facts.get(f"csr_before:{node}")
        current = await a.csr(self.unit)
        current_fp = pki.public_key_sha256(current) if current is not None else None
        if "generate" in rec.intents:
            if current is not None and current_fp != before:
                return self._csr_done(step, current, "kept the CSR generated just before the interruption")
            # The generation never reached the node: do it now (the user's consent, if needed, stands).
        elif current is not None:
            if not self.job.plan.options.regenerate_csr:
                if self._csr_fits(current, req, step.transport, node):
                    return self._csr_done(step, current, "the node already held a CSR that fits the plan: kept it "
                                                         "(a certificate may be on its way from the CA)",
                                          adopted=True)
                raise StepError(
                    f"{node} holds an outstanding {self.unit} CSR ({_describe_csr(current)}) that differs from "
                    "the plan; ucterm never replaces it without your word",
                    "if no CA is issuing a certificate from it, run again with --regenerate-csr; if one is, "
                    "upload that certificate first")
            await self.ctx.confirm(step, f"Replace the outstanding {self.unit} CSR on {node}? A certificate the "
                                         "CA issues from the old CSR can no longer be uploaded.")
        self.job.intent(step.id, "generate", {"before": current_fp})
        opts = self.job.plan.options
        csr = await a.generate_csr(self.unit, step.transport, req, multi_server=self.job.plan.multi_server,
                                   include_ou=opts.include_ou, key_length=opts.key_length)
        return self._csr_done(step, csr, "generated")

    def _csr_fits(self, csr: x509.CertificateSigningRequest, req: CsrRequest, transport: str, node: str) -> bool:
        sans = {s.lower() for s in pki.sans_of(csr)}
        if transport == "rest":
            return pki.cn_of(csr.subject).lower() == req.common_name.lower() and \
                sans == {s.lower() for s in req.alt_names}
        others = {n.fqdn.lower() for n in self.cluster.nodes} - {node.lower()}
        return not (sans & others) and (node.lower() in sans or pki.cn_of(csr.subject).lower() == node.lower())

    def _csr_done(self, step: Step, csr: x509.CertificateSigningRequest, what: str, adopted: bool = False) -> str:
        self.job.done(step.id, "generate", {"csr": pki.pem(csr), "key": pki.public_key_sha256(csr), "adopted": adopted})
        return f"{what}: {_describe_csr(csr)}"

    # ---- 3. save -------------------------------------------------------------------------------

    async def _save_csr(self, step: Step) -> str:
        node = step.node or ""
        pem = self._done_data(f"generate_csr:{node}", "generate")["csr"]
        path = self.job.write_artifact(f"csr-{node}.pem", pem)
        await self.ctx.progress(step, f"CSR for {node} saved to {path}: send it to the CA")
        return str(path)

    # ---- 4. obtain the signed certificate ------------------------------------------------------

    async def _obtain_signed(self, step: Step) -> str:
        node = step.node or ""
        csr = self._csr_of(node)
        open_csrs = {n: self._csr_of(n) for n in self.job.plan.csr_nodes
                     if self.job.steps[f"obtain_signed:{n}"].state != "done"
                     and "generate" in self.job.steps[f"generate_csr:{n}"].done}
        open_csrs[node] = csr
        leaf: x509.Certificate | None = match_signed(open_csrs, self.ctx.material).get(node)
        cas = list(self.ctx.material.cas)
        source = "the files given"
        if leaf is None and self.ctx.signer is not None:
            signer = self.ctx.signer
            if isinstance(signer, JournaledSigner):
                leaf_pem, chain_pems = await self._ask_signer(step, signer, csr)
            else:
                try:
                    leaf_pem, chain_pems = await signer.sign(pki.pem(csr))
                except SignerPending:
                    leaf_pem, chain_pems = "", []
            if leaf_pem:
                issued = _certs(leaf_pem)
                if not issued:
                    raise StepError(f"{source_label(self.ctx.signer)} answered for {node} without a readable "
                                    "certificate", "check the signer, then retry the step")
                leaf = issued[0]
                cas = [c for p in chain_pems for c in _certs(p)]
                source = str(getattr(signer, "label", "the signer"))
        stored = _certs(self.job.read_artifact(f"cert-{node}.pem"))
        held = _certs(self.job.read_artifact(f"chain-{node}.pem"))
        chain = _merged(cas, held)
        if len(chain) != len(held):  # CA certificates given now extend what the job had (a corrected chain)
            self.job.write_artifact(f"chain-{node}.pem", "".join(pki.pem(c) for c in chain))
        if leaf is None:
            if stored:
                added = len(chain) - len(held)
                return (f"certificate {_describe_cert(stored[0])} (stored earlier)"
                        + (f", with {added} CA certificate(s) given now" if added else ""))
            path = self.job.artifact_path(f"csr-{node}.pem")
            repaired = self._repair_csr_file(node, csr)
            wrong = self._unmatched_given()
            raise Waiting(repaired + "; ".join([*wrong, f"waiting for the certificate the CA issues from {path}; "
                                                        f"then run `ucterm resume {self.job.id} --signed FILE "
                                                        "[--chain FILE]`"]))
        self.job.write_artifact(f"cert-{node}.pem", pki.pem(leaf))
        return f"certificate {_describe_cert(leaf)} from {source}"

    def _unmatched_given(self) -> list[str]:
        """A sentence per certificate given that fits no CSR of the job (file name, findings)."""
        from ucterm.renewal.unmatched import explain_unmatched

        return explain_unmatched(self.job, self.ctx.material)

    def new_material_for(self, node: str, material: Material) -> str | None:
        """What `material` changes for `node`'s certificate before it is uploaded (None: nothing):
        a certificate other than the one the job holds, or CA certificates its chain lacks. The
        runner then sends the node back to its obtain and validate steps."""
        csrs = {node: self._csr_of(node)}
        leaf = match_signed(csrs, material).get(node)
        stored = _certs(self.job.read_artifact(f"cert-{node}.pem"))
        if leaf is not None and (not stored or pki.sha256_hex(stored[0]) != pki.sha256_hex(leaf)):
            return "a new certificate was given"
        held = {pki.sha256_hex(c) for c in _certs(self.job.read_artifact(f"chain-{node}.pem"))}
        if (stored or leaf is not None) and any(pki.sha256_hex(c) not in held for c in material.cas):
            return "new CA certificates were given"
        return None

    def _repair_csr_file(self, node: str, csr: x509.CertificateSigningRequest) -> str:
        """The CSR file the user sends to the CA must hold the CSR the journal knows; a file that was
        removed, garbled or replaced is written again, and the user told, since the CA may have got it."""
        path = self.job.artifact_path(f"csr-{node}.pem")
        text = self.job.read_artifact(f"csr-{node}.pem")
        held = pki.load_bundle(text.encode("utf-8", "replace"), str(path)).csrs if text else []
        if held and pki.public_key_sha256(held[0]) == pki.public_key_sha256(csr):
            return ""
        why = "was missing" if text is None else ("holds another CSR" if held else "was damaged (no readable CSR)")
        self.job.write_artifact(f"csr-{node}.pem", pki.pem(csr))
        return (f"{path.name} {why}; it was written again from the journal: send the CA this copy if it got "
                "the other one; ")

    def _stored_leaf(self, node: str) -> x509.Certificate:
        found = _certs(self.job.read_artifact(f"cert-{node}.pem"))
        if not found:
            path = self.job.artifact_path(f"cert-{node}.pem")
            raise StepError(f"{path} in the job folder holds no readable certificate (it was removed or damaged)",
                            f"give the certificate again: `ucterm resume {self.job.id} --signed FILE`")
        return found[0]

    async def _ask_signer(self, step: Step, signer: JournaledSigner,
                          csr: x509.CertificateSigningRequest) -> tuple[str, list[str]]:
        """A `[[signer]]` signs, resuming the request its earlier attempts journaled (the `sign` intent:
        request id, order URL); "pending" leaves the job waiting with the signer's words."""
        signing = _StepSigning(self, step)
        try:
            async with self._signing_lock(signing.node):
                leaf_pem, chain_pems = await signer.obtain(pki.pem(csr), signing)
        except SignerPending as exc:
            also = await self._submit_the_others(step, signer)
            more = f" ({len(also)} more CSR(s) submitted: {'; '.join(also)})" if also else ""
            raise Waiting(f"{str(exc).rstrip('.')}{more}; run `ucterm resume {self.job.id}` to ask again") \
                from None
        self.job.done(step.id, "sign", {**signing.recall(), "signer": signer.label})
        return leaf_pem, chain_pems

    async def _submit_the_others(self, waiting: Step, signer: JournaledSigner) -> list[str]:
        """While one CSR waits (a CA manager's approval, DNS), hand the job's other CSRs to the CA too, so
        that one approval round (or one DNS propagation) serves them all instead of one per resume.

        Each goes through its own step's journal record: when its step runs, the signer resumes that
        request (its request id, its order) instead of submitting again. A certificate issued at once is
        fetched again then; an error is left for its own step to report."""
        said: list[str] = []
        for other in self.job.plan.steps_of("obtain_signed"):
            node = other.node or ""
            lock = self._signing_lock(node)
            if other.id == waiting.id or lock.locked():  # its own step is asking the signer right now
                continue
            async with lock:
                rec = self.job.steps[other.id]
                if rec.state == "done" or "sign" in rec.intents \
                        or "generate" not in self.job.steps[f"generate_csr:{node}"].done:
                    continue
                try:
                    await signer.obtain(pki.pem(self._csr_of(node)), _StepSigning(self, other))
                    said.append(f"{node}: issued")
                except SignerPending as exc:
                    said.append(f"{node}: {str(exc).rstrip('.')}")
                except UctermError as exc:
                    await self.ctx.progress(other, f"not submitted yet: {exc}")
        return said

    # ---- 5. validate ---------------------------------------------------------------------------

    async def _validate(self, step: Step) -> str:
        node = step.node or ""
        leaf = self._stored_leaf(node)
        cas = _certs(self.job.read_artifact(f"chain-{node}.pem"))
        trusted = _certs(self.job.read_artifact(f"trusted-{node}.pem"))
        csr = self._csr_of(node)
        csr_path = self.job.artifact_path(f"csr-{node}.pem")
        # Named as `ucterm check --csr` names a file, so that both say the same words (pki.report).
        saved = datetime.fromtimestamp(csr_path.stat().st_mtime, UTC) if csr_path.exists() else self.ctx.now()
        report = pki.check_material([leaf, *cas], csr, unit=self.unit, multi_server=self.job.plan.multi_server,
                                    now=self.ctx.now(), trusted=trusted, leaf=leaf,
                                    csr_origin=f"in {csr_path.name} (saved on {saved:%Y-%m-%d})")
        doc = report.to_json_dict()
        if report.upload is not None:
            doc["upload"] = report.upload.to_dict()
        self.job.write_artifact(f"check-{node}.json", json.dumps(doc, indent=2))
        for w in report.warnings:
            await self.ctx.progress(step, f"warning {w.code}: {w.message}; {w.fix}")
        if not report.ok or report.upload is None:
            errors = report.errors
            first = errors[0] if errors else None
            message = "; ".join(f"{f.message} [{f.code}]" for f in errors) or "no upload could be planned"
            raise StepError(f"the certificate for {node} fails validation, nothing was uploaded: {message}",
                            first.fix if first else "")
        upload = report.upload
        self.job.done(step.id, "validated", {
            "leaf": pki.sha256_hex(leaf), "trust": [pki.pem(c) for c in upload.trust],
            "chain": [pki.pem(c) for c in upload.identity_chain],
            "already_trusted": [pki.label(c) for c in upload.already_trusted]})
        warn = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        return (f"valid for {self.unit}{warn}: {len(upload.trust)} CA certificate(s) to upload, "
                f"{len(upload.already_trusted)} already trusted")

    # ---- 6. uploads ----------------------------------------------------------------------------

    async def _upload_trust(self, step: Step) -> str:
        node = step.node or ""
        rec = self.job.steps[step.id]
        data = self._validated(node)
        todo = [c for p in data["trust"] for c in _certs(p)]
        if not todo:
            return f"every CA certificate of the chain is in {self.store} already"
        a = self.ctx.access(node)
        present = {pki.sha256_hex(c) for c in await a.trust(self.store, step.transport)}
        for cert in todo:
            fp = pki.sha256_hex(cert)
            key = f"trust:{fp[:16]}"
            if key in rec.done:
                continue
            if fp in present:
                # Present after our intent: the interrupted upload took effect. Present without one: it was there.
                self.job.done(step.id, key, {"added": key in rec.intents, "cn": pki.label(cert)})
                continue
            self.job.intent(step.id, key, {"cn": pki.label(cert)})
            await self.ctx.progress(step, f"uploading {pki.label(cert)} into {self.store}")
            await a.import_trust(self.store, pki.pem(cert), step.transport, f"ucterm renewal {self.job.id}")
            self.job.done(step.id, key, {"added": True, "cn": pki.label(cert)})
            present.add(fp)
        added = [d["cn"] for k, d in rec.done.items() if k.startswith("trust:") and d.get("added")]
        if added:
            self.job.fact("trust_added", True)
        return (f"added {', '.join(added)} to {self.store}" if added else
                f"every CA certificate of the chain is in {self.store} already")

    async def _upload_identity(self, step: Step) -> str:
        node = step.node or ""
        rec = self.job.steps[step.id]
        data = self._validated(node)
        chain = [c for p in data["chain"] for c in _certs(p)]
        new_fp = str(data["leaf"])
        a = self.ctx.access(node)
        current = await a.identity(self.unit, step.transport)
        spread = " (VOS distributes it to every node in its SANs)" if self.job.plan.multi_server else ""
        if pki.sha256_hex(current) == new_fp:
            self.job.done(step.id, "identity", {"leaf": new_fp})
            return f"the node has the new certificate installed{spread}"
        ours = pki.public_key_sha256(self._csr_of(node))
        held = await a.csr(self.unit)
        if held is None or pki.public_key_sha256(held) != ours:
            what = "no CSR any more" if held is None else f"another CSR ({_describe_csr(held)})"
            raise StepError(
                f"{node} holds {what} for {self.unit}, not the one this job made, so it would refuse the new "
                "certificate (CSR Public Key and Certificate Public Key Do Not Match); nothing was uploaded",
                "someone replaced or used the CSR: start a new job and have the CA sign its new CSR")
        if "identity" not in rec.intents:
            await self.ctx.confirm(step, f"Upload the new {self.unit} certificate on {node}? It replaces the "
                                         f"current one{spread}.")
        self.job.intent(step.id, "identity", {"leaf": new_fp})
        await a.import_identity(self.unit, chain, step.transport)
        self.job.done(step.id, "identity", {"leaf": new_fp})
        return f"uploaded over {step.transport}{spread}; it takes effect when the services restart"

    # ---- 7./9. High Availability ----------------------------------------------------------------

    async def _ha_enabled(self, node: str) -> tuple[bool, bool]:
        """(enabled, normal) from `utils ha status` on the IM&P node."""
        statuses = await self.ctx.access(node).ha_status()
        return any(s.ha_enabled for s in statuses), all(s.normal for s in statuses)

    async def _ha_disable(self, step: Step) -> str:
        node = step.node or ""
        group = self.job.plan.ha_group or "the Presence Redundancy Group"
        if self.job.facts.get("ha_was_enabled") is False:
            raise Skip(f"High Availability was off on {group} before the job: nothing to disable")
        enabled, _ = await self._ha_enabled(node)
        if not enabled:
            self.job.done(step.id, "ha", {"enabled": False})
            return f"High Availability is off on {group} (utils ha status)"
        if step.transport == "manual":
            await self._manual_ha(step, group, enable=False)
        else:
            if "ha" not in self.job.steps[step.id].intents:
                await self.ctx.confirm(step, f"Disable High Availability on {group} for the restarts?")
            self.job.intent(step.id, "ha", {"enabled": False})
            await self.ctx.axl_access().session.axl.set_ha(self.job.plan.ha_group or "", False)
        await self._wait_ha(step, node, enable=False)
        self.job.done(step.id, "ha", {"enabled": False})
        return f"High Availability is off on {group} (utils ha status)"

    async def _ha_enable(self, step: Step) -> str:
        node = step.node or ""
        group = self.job.plan.ha_group or "the Presence Redundancy Group"
        if self.job.facts.get("ha_was_enabled") is False:
            raise Skip(f"High Availability was off on {group} before the job: left off")
        enabled, normal = await self._ha_enabled(node)
        if not enabled:
            if step.transport == "manual":
                await self._manual_ha(step, group, enable=True)
            else:
                self.job.intent(step.id, "ha", {"enabled": True})
                await self.ctx.axl_access().session.axl.set_ha(self.job.plan.ha_group or "", True)
        if not normal:
            await self._wait_ha(step, node, enable=True)
        self.job.done(step.id, "ha", {"enabled": True})
        return f"High Availability is on again on {group}; every node is Normal"

    async def _manual_ha(self, step: Step, group: str, *, enable: bool) -> None:
        what = (f"in CM Administration > System > Presence Redundancy Group, open {group}, "
                f"{'check' if enable else 'uncheck'} Enable High Availability and save")
        if not self.ctx.interactive:
            raise Waiting(f"{what}; then run `ucterm resume {self.job.id}` (ucterm checks `utils ha status`)")
        await self.ctx.confirm(step, f"{what[0].upper()}{what[1:]}. Done?", consent=False)

    async def _wait_ha(self, step: Step, node: str, *, enable: bool) -> None:
        deadline = time.monotonic() + self.ctx.settings.ha_timeout
        said = False
        while True:
            enabled, normal = await self._ha_enabled(node)
            if (enable and enabled and normal) or (not enable and not enabled):
                return
            if time.monotonic() > deadline:
                want = "Normal on every node" if enable else "High Availability Not Enabled"
                raise StepError(f"{node}: `utils ha status` did not show {want} within "
                                f"{self.ctx.settings.ha_timeout:g} s",
                                "check the Presence Redundancy Group in CM Administration, then retry")
            if not said:
                said = True
                await self.ctx.progress(step, "waiting for `utils ha status` to show " +
                                        ("Normal" if enable else "High Availability Not Enabled"))
            await asyncio.sleep(self.ctx.settings.poll_interval)

    # ---- 8. restarts ---------------------------------------------------------------------------

    async def _restart(self, step: Step) -> str:
        node = step.node or ""
        rec = self.job.steps[step.id]
        a = self.ctx.access(node)
        services = await a.services()
        new_fp = self._new_fingerprint(node)
        if step.risky and not any(k.startswith("restart:") for k in rec.intents):
            names = ", ".join(i.service for i in step.restarts)
            await self.ctx.confirm(step, f"Restart {names} on {node}? {step.risk_note}.")
        restarted: list[str] = []
        skipped: list[str] = []
        for item in step.restarts:
            key = f"restart:{item.service}"
            if key in rec.done:
                (skipped if rec.done[key].get("skipped") else restarted).append(item.service)
                continue
            reason = self._restart_skip_reason(item, services)
            if reason:
                self.job.done(step.id, key, {"skipped": reason})
                await self.ctx.progress(step, f"{item.service}: {reason}, not restarted")
                skipped.append(item.service)
                continue
            under_way = (await self._restart_under_way(rec.intents[key], item, services, a, new_fp)
                         if key in rec.intents else "")
            if under_way:
                await self.ctx.progress(step, f"{item.service}: {under_way} when ucterm stopped; waiting for it "
                                              "instead of restarting again")
                await self._wait_started(step, a, item, new_fp)
            else:
                self.job.intent(step.id, key, {"service": item.service})
                try:
                    result = await a.restart(item.service, self.ctx.settings.restart_timeout)
                except SessionDropped:
                    await self.ctx.progress(step, f"{item.service}: the session dropped during the restart; "
                                                  "waiting for the node to finish it")
                    result = None
                if result is None or not result.saw_started:
                    await self._wait_started(step, a, item, new_fp)
            self.job.done(step.id, key, {})
            restarted.append(item.service)
        text = f"restarted {', '.join(restarted) or 'nothing'}"
        return text + (f"; not restarted: {', '.join(skipped)}" if skipped else "")

    async def _restart_under_way(self, intent: dict[str, Any], item: RestartItem, services: dict[str, Any],
                                 a: NodeAccess, new_fp: str) -> str:
        """Why an interrupted restart needs no second command ("" when it does): the node answered it,
        the service is stopping or starting, or (for the serving service) the new certificate is
        served already, which only a restart after the upload can cause."""
        if intent.get("acknowledged"):
            return "the node had answered the restart command"
        st = services.get(item.service.lower())
        if st is not None and st.state in ("STOPPING", "STARTING"):
            return f"the service was {st.state}"
        if item.serving and await self._serves(a, new_fp):
            return "the node serves the new certificate, so the restart had happened"
        return ""

    def _restart_skip_reason(self, item: RestartItem, services: dict[str, Any]) -> str | None:
        if item.when == "trust-added" and not self.job.facts.get("trust_added"):
            return "no CA certificate was added to the trust store"
        st = services.get(item.service.lower())
        if st is None:
            return "not on this node"
        if st.reason and "not activated" in st.reason.lower():
            return "not activated on this node"
        return None

    async def _serves(self, a: NodeAccess, fp: str) -> bool:
        try:
            results = await a.served(self.unit, self.ctx.settings.probe_timeout)
        except (TimeoutError, OSError, UctermError):
            return False
        heard = [r for r in results if r.answered]  # a filtered port proves nothing either way
        return bool(heard) and all(r.ok and r.leaf is not None and pki.sha256_hex(r.leaf) == fp for r in heard)

    async def _wait_started(self, step: Step, a: NodeAccess, item: RestartItem, new_fp: str) -> None:
        """Until the service reports STARTED (or, for the serving service, the new certificate is served:
        some nodes never print STARTED for Tomcat, §1.9)."""
        timeout = self.ctx.settings.started_timeout
        deadline = time.monotonic() + timeout
        shown = ""
        while True:
            st = (await a.services()).get(item.service.lower())
            state = st.state if st is not None else "missing"
            if state in ("STARTED", "RUNNING"):
                return
            if item.serving and await self._serves(a, new_fp):
                return
            if time.monotonic() > deadline:
                hint = ""
                if catalog.ha_applies(self.job.plan.product, self.unit):
                    # §3.4 [VERIFIED: seed-procedure-ja.txt]
                    hint = "; IM and Presence services stay in STARTING when High Availability is left on"
                raise StepError(f"{a.fqdn}: {item.service} is still {state} {timeout:g} s after its restart{hint}",
                                f"check `utils service list` on {a.fqdn}, then retry the step")
            if state != shown:  # one line per state, not one per poll
                shown = state
                await self.ctx.progress(step, f"{item.service} is {state}; waiting for STARTED")
            await asyncio.sleep(self.ctx.settings.poll_interval)

    # ---- 10. verify ----------------------------------------------------------------------------

    async def _verify(self, step: Step) -> str:
        node = step.node or ""
        a = self.ctx.access(node)
        new_fp = self._new_fingerprint(node)
        if step.transport != "tls":
            cert = await a.identity(self.unit, "cli")
            if pki.sha256_hex(cert) != new_fp:
                raise StepError(f"{node} holds {_describe_cert(cert)}, not the new certificate",
                                f"check `show cert own {self.unit}` on {node}")
            return f"{node} holds the new certificate (SHA-256 {short(new_fp)})"
        deadline = time.monotonic() + self.ctx.settings.verify_timeout
        names = [p for p in catalog.unit_spec(self.unit).served_on if p in PORT_KINDS]
        while True:
            results = await a.served(self.unit, self.ctx.settings.probe_timeout)
            named = list(zip(names, results, strict=False))
            # A port that does not answer at all (refused, filtered) says nothing about the certificate:
            # it is "not checked". The ports that answer must all show the new one, and one must answer.
            heard = [(n, r) for n, r in named if r.answered]
            silent = [(n, r) for n, r in named if not r.answered]
            wrong = [r for _, r in heard if not (r.ok and r.leaf is not None and pki.sha256_hex(r.leaf) == new_fp)]
            if heard and not wrong:
                ports = ", ".join(dict.fromkeys(str(r.port) for _, r in heard))
                detail = f"{node} serves the new certificate (SHA-256 {short(new_fp)}) on port {ports}"
                if silent:
                    unchecked = [f"port {r.port} ({n}) not checked: {r.error or 'no answer'}" for n, r in silent]
                    self.job.done(step.id, "verify", {"unchecked": [f"{node} {u}" for u in unchecked]})
                    await self.ctx.progress(step, f"warning: {'; '.join(unchecked)}; {node} serves the new "
                                                  f"certificate on port {ports}, which proves it")
                    detail += "; " + "; ".join(unchecked)
                return detail
            if time.monotonic() > deadline:
                r = wrong[0] if wrong else (silent[0][1] if silent else None)
                if r is not None and r.leaf is not None:
                    seen = f"it serves {_describe_cert(r.leaf)}"
                else:
                    seen = f"it does not answer ({r.error if r is not None else 'no TLS endpoint'})"
                serving = catalog.serving_service(a.cluster.product, None, self.unit) or "the service"
                where = f" on port {r.port}" if r is not None else ""
                if not heard and silent:
                    where = " on any port (" + ", ".join(str(x.port) for _, x in silent) + ")"
                raise StepError(f"{node} does not serve the new {self.unit} certificate{where}: {seen}",
                                f"restart {serving} on {node} (utils service restart {serving}), check that "
                                "ucterm can reach a port that serves it, then retry")
            await asyncio.sleep(self.ctx.settings.poll_interval)


class _StepSigning:
    """The obtain step's journal seam for a `[[signer]]` (signers.base.SigningContext): what the signer
    remembers is the step's `sign` intent, rewritten whole each time, so that the last record holds
    everything a resume needs."""

    def __init__(self, worker: StepWorker, step: Step) -> None:
        self._worker = worker
        self._step = step
        self.node = step.node or ""
        self.job_id = worker.job.id
        self.credentials = worker.ctx.credentials

    def recall(self) -> dict[str, Any]:
        return dict(self._worker.job.steps[self._step.id].intents.get("sign") or {})

    def remember(self, data: Mapping[str, Any]) -> None:
        self._worker.job.intent(self._step.id, "sign", {**self.recall(), **data})

    async def progress(self, message: str) -> None:
        await self._worker.ctx.progress(self._step, message)

    def workdir(self) -> Path:
        folder = self._worker.job.artifact_path(f"signer-{self.node}")
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder
