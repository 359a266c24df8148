"""The renewal engine: plan (pure) → runner (async, events) → journal (files).

- :mod:`~ucterm.renewal.model`: steps, plans, options, states.
- :mod:`~ucterm.renewal.plan`: :func:`build_plan`, :func:`defaults_for`, :func:`render` (pure).
- :mod:`~ucterm.renewal.journal`: :class:`Journal`, :class:`Job`, :func:`list_jobs`.
- :mod:`~ucterm.renewal.runner`: :class:`Runner` (pause, retry, skip, abort, provide_signed).
- :mod:`~ucterm.renewal.steps`: what each step does and how it reconciles after a crash.
- :mod:`~ucterm.renewal.events`: the typed events the TUI and the CLI show.
- :mod:`~ucterm.renewal.signers`: where the signed certificate comes from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ucterm.lazy import loader
from ucterm.renewal.events import (
    JobEvent,
    JobFinished,
    JobPaused,
    JobTranscriptLine,
    JobWaiting,
    StepDone,
    StepFailed,
    StepProgress,
    StepSkipped,
    StepStarted,
)
from ucterm.renewal.journal import Job, JobSummary, Journal, JournalError, list_jobs
from ucterm.renewal.model import CsrRequest, JobState, Plan, PlanOptions, RestartItem, Step, StepState
from ucterm.renewal.plan import PlanError, build_plan, defaults_for, render

if TYPE_CHECKING:
    from ucterm.renewal.runner import RenewalError, Runner
    from ucterm.renewal.signers import FilesSigner, LabCaSigner, Signer, SignerPending
    from ucterm.renewal.steps import RunnerSettings

#: Names whose modules load the transport (asyncssh, httpx): imported on first use, so that
#: `ucterm jobs` and the TUI's journal look-ups do not pay for them.
_LAZY = {"RenewalError": "runner", "Runner": "runner", "FilesSigner": "signers", "LabCaSigner": "signers",
         "Signer": "signers", "SignerPending": "signers", "RunnerSettings": "steps"}


__getattr__ = loader(__name__, _LAZY, globals())

__all__ = [
    "CsrRequest",
    "FilesSigner",
    "Job",
    "JobEvent",
    "JobFinished",
    "JobPaused",
    "JobState",
    "JobSummary",
    "JobTranscriptLine",
    "JobWaiting",
    "Journal",
    "JournalError",
    "LabCaSigner",
    "Plan",
    "PlanError",
    "PlanOptions",
    "RenewalError",
    "RestartItem",
    "Runner",
    "RunnerSettings",
    "Signer",
    "SignerPending",
    "Step",
    "StepDone",
    "StepFailed",
    "StepProgress",
    "StepSkipped",
    "StepStarted",
    "StepState",
    "build_plan",
    "defaults_for",
    "list_jobs",
    "render",
]
