"""The change record of a job: what a change advisory board asks for, rendered from the journal alone.

`ucterm report JOB` (design.md §3) reads the job folder and nothing else: the plan (scope and the
exact commands), the log (who ran it where and when, every step's outcome, what was restarted),
the issued certificates, the verification that each node serves the new one, and what is left.
It never contacts a node, so it can be written after the fact, on another machine, from a copy
of the folder.

The journal is redacted as it is written (secrets become `***`); a record built in the process
that runs the job also passes every value through the job's redactor, which knows the secrets
resolved so far. Text from nodes and CAs is shown with control characters made visible, because
a record is read in terminals and browsers.

The content is built once as a small document (:class:`Section` of paragraphs, lists and
tables) and rendered to Markdown or to a self-contained HTML page, so that both say the same.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cryptography import x509

from ucterm import catalog, pki
from ucterm.renewal.journal import Job
from ucterm.text import visible

__all__ = ["FORMATS", "Document", "build", "render"]

Format = Literal["md", "html"]
FORMATS: tuple[Format, ...] = ("md", "html")

_STATE_WORDS = {"pending": "not run", "running": "interrupted while running", "done": "done", "failed": "FAILED",
                "skipped": "skipped", "waiting": "waiting"}
_JOB_WORDS = {"running": "running", "interrupted": "interrupted (no ucterm runs it)", "paused": "paused",
              "waiting": "waiting", "done": "done", "failed": "failed", "aborted": "aborted",
              "abandoned": "abandoned"}
#: In the timeline a job record marks a start (or a resume), not a state that lasts.
_JOB_EVENTS = {"running": "started", "waiting": "waiting", "done": "done", "failed": "failed", "aborted": "aborted",
               "paused": "paused", "abandoned": "abandoned"}
#: A verify step's detail names the served fingerprint and port (steps._verify).
_PROOF = re.compile(r"SHA-256 (?P<fp>[0-9A-F:]+)\)? on port (?P<port>\d+)")


@dataclass
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


Block = str | Table | list[str]


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    sections: list[Section]


# --------------------------------------------------------------------------------------------
# Building the document from the journal


def build(job: Job) -> Document:
    """The change record of `job` (see the module docstring)."""
    records = list(job.records())
    clean = _Cleaner(job)
    plan = job.plan
    product = catalog.PRODUCT_NAMES.get(plan.product, plan.product)
    title = f"Change record: renew {plan.unit} on cluster {plan.cluster}"
    sections = [
        _summary(job, records, clean),
        _scope(job, product, clean),
        _plan(job, clean),
        _timeline(job, records, clean),
        _restarts(job, records, clean),
        _certificates(job, clean),
        _proof(job, clean),
        _left(job, clean),
        _commands(job, clean),
    ]
    return Document(clean(title), [s for s in sections if s.blocks])


class _Cleaner:
    """Redacted, control characters visible: every value shown goes through here."""

    def __init__(self, job: Job) -> None:
        self._redact = job.redactor

    def __call__(self, value: object) -> str:
        return visible(self._redact(str(value)))


def _when(ts: str) -> str:
    """`2026-12-02 14:21:46 UTC` from the journal's ISO timestamps."""
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _runs(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type") == "run"]


def _summary(job: Job, records: Sequence[dict[str, Any]], clean: _Cleaner) -> Section:
    rows = [("Job", clean(job.id)),
            ("State", clean(_JOB_WORDS.get(job.status(), job.status()) + (f": {job.detail}" if job.detail else ""))),
            ("Created", _when(job.created)), ("Last change", _when(job.updated))]
    if job.inventory_path is not None:
        rows.append(("Inventory", clean(job.inventory_path)))
    if job.batch:
        rows.append(("Batch", clean(f"{job.batch} (one of the jobs `ucterm renew --due` or the TUI made at once)")))
    for run in _runs(records):
        who = f"{run.get('user') or 'unknown user'} on {run.get('host') or 'unknown host'}"
        how = f"ucterm {run.get('version', '?')}, pid {run.get('pid', '?')}: {run.get('command') or 'run'}"
        rows.append(("Ran", clean(f"{_when(str(run.get('ts', '')))}: {who} ({how})")))
    if not _runs(records):
        rows.append(("Ran", "not recorded (journal written by ucterm before 0.2)"))
    return Section("Summary", [Table(("", ""), rows)])


def _scope(job: Job, product: str, clean: _Cleaner) -> Section:
    plan = job.plan
    kind = "one multi-server certificate" if plan.multi_server else "a single-server certificate per node"
    items = [f"Cluster {clean(plan.cluster)} ({clean(product)}), unit {clean(plan.unit)}: {kind}.",
             "Nodes, in restart order: " + ", ".join(clean(n) for n in plan.nodes) + "."]
    if plan.linked_nodes:
        items.append("Also covered by the certificate (restarted and verified after the cluster's nodes): "
                     + ", ".join(clean(n) for n in plan.linked_nodes) + ".")
    for step in plan.steps_of("generate_csr"):
        if step.csr is not None:
            sans = ", ".join(clean(s) for s in step.csr.alt_names) or "none"
            items.append(f"CSR on {clean(step.node)}: CN {clean(step.csr.common_name)}; SANs {sans}.")
    signer = plan.options.signer
    items.append(f"Signed by: {clean(_signer_words(signer, plan.options))}.")
    if plan.ha_group:
        items.append(f"IM and Presence High Availability of {clean(plan.ha_group)} is turned off for the "
                     "restarts and on again afterwards.")
    items += _window_words(job, clean)
    blocks: list[Block] = [items]
    if plan.risks:
        blocks += ["Risks named by the plan:", [clean(r) for r in plan.risks]]
    if plan.warnings:
        blocks += ["Warnings of the plan:", [clean(w) for w in plan.warnings]]
    return Section("Scope", blocks)


def _window_words(job: Job, clean: _Cleaner) -> list[str]:
    """What the journal says of the maintenance window: a wait for it, or restarts outside it by override."""
    out: list[str] = []
    override = job.facts.get("restart_now")
    if isinstance(override, dict):
        out.append(clean(f"Restarted outside the maintenance window ({override.get('window', '?')}) at "
                         f"{_when(str(override.get('at', '')))}, as the person running it asked (--restart-now)."))
    waiting = job.window_wait()
    if waiting is not None:
        out.append(clean(f"The restarts wait for the maintenance window {waiting.get('window', '?')} (next opening "
                         f"{_when(waiting.get('opens', ''))}): they interrupt calls or clients."))
    return out


def _signer_words(signer: str, options: Any) -> str:
    name = getattr(options, "signer_name", None)
    if name:
        return f"the signer {name} of the inventory"
    return {"lab": "the lab CA", "files": "the CA, certificates handed over as files"}.get(signer, signer)


def _plan(job: Job, clean: _Cleaner) -> Section:
    rows = []
    for i, step in enumerate(job.plan.steps, 1):
        commands = "; ".join(clean(c) for c in step.commands) or "—"
        risk = " (risky)" if step.risky else ""
        rows.append((str(i), clean(step.name) + risk, clean(step.node or "—"), clean(step.transport), commands,
                     _STATE_WORDS.get(job.steps[step.id].state, job.steps[step.id].state)))
    return Section("Plan, with the exact commands", [Table(("#", "Step", "Node", "Over", "Commands", "Outcome"),
                                                           rows)])


def _timeline(job: Job, records: Sequence[dict[str, Any]], clean: _Cleaner) -> Section:
    names = {s.id: s.name for s in job.plan.steps}
    rows: list[tuple[str, str]] = []
    for r in records:
        kind = r.get("type")
        ts = _when(str(r.get("ts", "")))
        if kind == "job":
            detail = f": {r.get('detail')}" if r.get("detail") else ""
            rows.append((ts, clean(f"job {_JOB_EVENTS.get(str(r.get('state')), r.get('state'))}{detail}")))
        elif kind == "step" and r.get("state") != "running":
            name = names.get(str(r.get("step")), str(r.get("step")))
            state = _STATE_WORDS.get(str(r.get("state")), str(r.get("state")))
            detail = f": {r.get('detail')}" if r.get("detail") else ""
            rows.append((ts, clean(f"{name}: {state}{detail}")))
        elif kind == "run":
            rows.append((ts, clean(f"{r.get('command') or 'run'} by {r.get('user', '?')} on {r.get('host', '?')}")))
    return Section("Timeline", [Table(("Time", "What happened"), rows)] if rows else [])


def _restarts(job: Job, records: Sequence[dict[str, Any]], clean: _Cleaner) -> Section:
    """Every service restart the journal records as done, with when (from its done record)."""
    restart_steps = {s.id: s for s in job.plan.steps if s.kind == "restart"}
    rows = []
    for r in records:
        if r.get("type") != "done" or r.get("step") not in restart_steps:
            continue
        action = str(r.get("action", ""))
        if not action.startswith("restart:"):
            continue
        step = restart_steps[str(r.get("step"))]
        rows.append((_when(str(r.get("ts", ""))), clean(step.node or ""), clean(action[len("restart:"):])))
    skipped = [s for s in restart_steps.values() if job.steps[s.id].state == "skipped"]
    blocks: list[Block] = []
    if rows:
        blocks.append(Table(("Time", "Node", "Service restarted"), rows))
    elif restart_steps:
        blocks.append("No service has been restarted yet.")
    if skipped:
        blocks.append([clean(f"{s.name}: skipped ({job.steps[s.id].detail})") for s in skipped])
    return Section("Restarts", blocks)


def _certificates(job: Job, clean: _Cleaner) -> Section:
    rows = []
    for node in job.plan.csr_nodes:
        text = job.read_artifact(f"cert-{node}.pem")
        if not text:
            continue
        try:
            cert = x509.load_pem_x509_certificate(text.encode("utf-8"))
        except ValueError:
            rows.append((clean(node), "the stored certificate cannot be read", "", "", "", ""))
            continue
        sans = ", ".join(pki.sans_of(cert))
        rows.append((clean(node), clean(pki.cn_of(cert.subject)), clean(sans), clean(pki.cn_of(cert.issuer)),
                     f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}",
                     _fingerprint(pki.sha256_hex(cert))))
    if not rows:
        return Section("Certificates issued", ["No certificate has been issued for this job yet."])
    return Section("Certificates issued", [Table(("CSR of", "CN", "SANs", "Issuer", "Valid", "SHA-256"), rows)])


def _fingerprint(hex_digest: str) -> str:
    return ":".join(hex_digest[i:i + 2] for i in range(0, len(hex_digest), 2)).upper()


def _proof(job: Job, clean: _Cleaner) -> Section:
    """What each verify step found served (its done detail names the fingerprint and the port)."""
    rows = []
    for step in job.plan.steps_of("verify"):
        rec = job.steps[step.id]
        m = _PROOF.search(rec.detail) if rec.state == "done" else None
        served = m.group("fp") if m else "—"
        port = m.group("port") if m else "—"
        outcome = "proven" if rec.state == "done" else _STATE_WORDS.get(rec.state, rec.state)
        rows.append((clean(step.node or ""), outcome, served, port, clean(rec.detail)))
    if not rows:
        return Section("Proof", [])
    proven = sum(1 for r in rows if r[1] == "proven")
    return Section("Proof: what each node serves now", [
        f"{proven} of {len(rows)} node(s) proven to serve the new certificate (a TLS handshake with each node, "
        "compared with the certificate uploaded).",
        Table(("Node", "Outcome", "Served SHA-256 (first bytes)", "Port", "Detail"), rows)])


def _left(job: Job, clean: _Cleaner) -> Section:
    open_steps = [s for s in job.plan.steps if job.steps[s.id].state not in ("done", "skipped")]
    if not open_steps:
        return Section("What is left", ["Nothing: every step is done or was skipped with a reason."])
    items = [clean(f"{s.name}: {_STATE_WORDS.get(job.steps[s.id].state, job.steps[s.id].state)}"
                   + (f" ({job.steps[s.id].detail})" if job.steps[s.id].detail else ""))
             for s in open_steps]
    if job.state == "abandoned":
        return Section("What is left", [items, "The job was abandoned: a new renewal of the unit "
                                               f"(`ucterm renew --cluster {clean(job.plan.cluster)} --unit "
                                               f"{clean(job.plan.unit)}`) takes over."])
    waiting = job.window_wait()
    if waiting is not None:
        return Section("What is left", [items, clean(
            f"The restarts wait for the maintenance window {waiting.get('window', '?')} (next opening "
            f"{_when(waiting.get('opens', ''))}): `ucterm resume {job.id}` inside it restarts and verifies "
            "(a cron job or timer running `ucterm renew --due` does it too).")])
    return Section("What is left", [items, f"Continue with `ucterm resume {clean(job.id)}`."])


def _commands(job: Job, clean: _Cleaner) -> Section:
    """The lines ucterm sent to each node, from the transcripts (redacted when written)."""
    blocks: list[Block] = []
    nodes = [*job.plan.nodes, *job.plan.linked_nodes]
    for node in dict.fromkeys(nodes):
        path = job.transcript_path(node)
        try:
            lines = path.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        sent = [line for line in lines if " sent: " in line]
        if sent:
            blocks += [f"{clean(node)}:", [clean(line) for line in sent]]
    if blocks:
        blocks.insert(0, "Every command line and API request sent, as the transcripts of the job folder "
                         "record them (secrets appear as ***).")
    return Section("Commands run", blocks)


# --------------------------------------------------------------------------------------------
# Rendering


def render(document: Document, fmt: Format) -> str:
    if fmt == "md":
        return _markdown(document)
    if fmt == "html":
        return _html(document)
    raise ValueError(f"unknown report format {fmt!r}")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def _markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for section in doc.sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                if any(block.headers):
                    out.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
                else:
                    out.append("| " + " | ".join(" " for _ in block.headers) + " |")
                out.append("|" + "|".join("---" for _ in block.headers) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            elif isinstance(block, list):
                out += [f"- {item}" for item in block]
            else:
                out.append(block)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#111}"
        "table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}"
        "th,td{border:1px solid #999;padding:.25rem .5rem;text-align:left;vertical-align:top}"
        "th{background:#eee}code{font-family:ui-monospace,monospace}"
        "@media print{body{margin:0}}")


def _html_inline(text: str) -> str:
    """Escaped, with `code` spans as in the Markdown form."""
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


def _html(doc: Document) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(doc.title)}</h1>"]
    for section in doc.sections:
        out.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                out.append("<table>")
                if any(block.headers):
                    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.headers) + "</tr>")
                for row in block.rows:
                    out.append("<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>")
                out.append("</table>")
            elif isinstance(block, list):
                out.append("<ul>" + "".join(f"<li>{_html_inline(item)}</li>" for item in block) + "</ul>")
            else:
                out.append(f"<p>{_html_inline(block)}</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"

