"""The renewal engine: plan (pure) → runner (async, events) → journal (files).

- :mod:`~ucterm.renewal.model`: steps, plans, options, states.
- :mod:`~ucterm.renewal.plan`: :func:`build_plan`, :func:`defaults_for`, :func:`render` (pure).
- :mod:`~ucterm.renewal.journal`: :class:`Journal`, :class:`Job`, :func:`list_jobs`.
- :mod:`~ucterm.renewal.runner`: :class:`Runner` (pause, retry, skip, abort, provide_signed).
- :mod:`~ucterm.renewal.steps`: what each step does and how it reconciles after a crash.
- :mod:`~ucterm.renewal.events`: the typed events the TUI and the CLI show.
- :mod:`~ucterm.renewal.signers`: where the signed certificate comes from.
- :mod:`~ucterm.renewal.cli`: `ucterm renew`, `ucterm resume`, `ucterm jobs`.
"""

from __future__ import annotations

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
from ucterm.renewal.runner import RenewalError, Runner
from ucterm.renewal.signers import FilesSigner, LabCaSigner, Signer, SignerPending
from ucterm.renewal.steps import RunnerSettings

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
