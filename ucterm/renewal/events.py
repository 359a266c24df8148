"""Typed events of a renewal job, for the TUI (as messages) and the headless CLI (on stderr).

Every event names the job, the step id and the node, so a face can route it without keeping
state of its own. They subclass :class:`ucterm.events.Event` and are journaled as they are sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ucterm.events import Event, TranscriptLine


@dataclass(frozen=True)
class JobEvent(Event):
    job: str
    step: str | None
    node: str | None


@dataclass(frozen=True)
class StepStarted(JobEvent):
    name: str = ""
    step_kind: str = ""
    #: True when the step was interrupted before and is being reconciled with the node's state.
    reconciling: bool = False


@dataclass(frozen=True)
class StepProgress(JobEvent):
    message: str = ""


@dataclass(frozen=True)
class StepDone(JobEvent):
    detail: str = ""


@dataclass(frozen=True)
class StepFailed(JobEvent):
    error: str = ""
    #: What the user can do (one sentence), where known.
    fix: str = ""


@dataclass(frozen=True)
class StepSkipped(JobEvent):
    reason: str = ""


@dataclass(frozen=True)
class JobWaiting(JobEvent):
    """The job stops here until the user acts: send the CSRs to the CA, or toggle HA by hand."""

    message: str = ""
    csrs: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class JobPaused(JobEvent):
    message: str = ""


@dataclass(frozen=True)
class JobFinished(JobEvent):
    state: str = ""
    detail: str = ""


@dataclass(frozen=True)
class JobTranscriptLine(TranscriptLine):
    """A transcript line (secrets already redacted) with the job and step it belongs to."""

    job: str = ""
    step: str | None = None
