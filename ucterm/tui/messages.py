"""Textual messages: engine events for the screen that started the work, and the screens' requests.

The engine reports through a plain callback (`ucterm.events.EventSink`); the TUI's sink posts
each event as an :class:`EngineEvent`, so widgets update from the message queue and tests
assert on exactly the events the engine emitted (`run_test(message_hook=...)`).

Screens never reach into the app: they say what the user asked for with a message that bubbles
up to the app (:class:`OpenRenewal`, :class:`PreviewPlan`, :class:`StartJob`, :class:`OpenJob`,
:class:`RenewDue`, :class:`RenewMarked`, :class:`StartBatch`, :class:`OpenBatch`,
:class:`HostKeysUnknown`) or what happened (:class:`JobStarted`, :class:`JobEnded`), and the app,
the only owner of the screen stack and of the running jobs, reacts in its `@on` handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.message import Message

from ucterm.events import Event
from ucterm.scan.model import MergedCert, NodeResult, ScanResult

if TYPE_CHECKING:
    from ucterm.renewal.model import Plan
    from ucterm.tui.session import BatchProposal, Session


class EngineEvent(Message, bubble=False):
    """One engine event (ScanProgress, NodeScanned, NodeNotice, …)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    @property
    def kind(self) -> str:
        return type(self.event).__name__


class EngineEvents(Message, bubble=False):
    """Engine events in the order they happened, delivered together (a renewal's transcript can
    stream hundreds of lines a second: one message per line would starve the keyboard)."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class ScanFinished(Message, bubble=False):
    def __init__(self, result: ScanResult, clusters: tuple[str, ...] | None) -> None:
        super().__init__()
        self.result = result
        self.clusters = clusters


class ScanFailed(Message, bubble=False):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class SessionReady(Message):
    """The session exists (at once, or once `ucterm demo` has started the lab)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


class SessionFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


# ---- what a screen asks the app for -------------------------------------------------------------
class OpenRenewal(Message):
    """Open the renewal form for `unit` on `cluster` (from `cert` where the user chose one)."""

    def __init__(self, cluster: str, unit: str, cert: MergedCert | None = None) -> None:
        super().__init__()
        self.cluster = cluster
        self.unit = unit
        self.cert = cert


class PreviewPlan(Message):
    """Show `plan` before anything runs; `signer` is the form's choice (a SignerChoice key or "files")."""

    def __init__(self, plan: Plan, signer: str) -> None:
        super().__init__()
        self.plan = plan
        self.signer = signer


class StartJob(Message):
    """The user confirmed the plan: journal a new job and run it on its own screen."""

    def __init__(self, plan: Plan, signer: str) -> None:
        super().__init__()
        self.plan = plan
        self.signer = signer


class RenewDue(Message):
    """Renew everything due (the palette): the app proposes a batch from the last scan."""


class RenewMarked(Message):
    """Renew the certificates the user marked (space on the table): the app proposes a batch."""

    def __init__(self, certs: Sequence[MergedCert]) -> None:
        super().__init__()
        self.certs = tuple(certs)


class StartBatch(Message):
    """The user confirmed a batch: journal and run its jobs, clusters side by side."""

    def __init__(self, proposal: BatchProposal) -> None:
        super().__init__()
        self.proposal = proposal


class OpenBatch(Message):
    """Show the batch view: the jobs of one batch with their states."""

    def __init__(self, batch_id: str) -> None:
        super().__init__()
        self.batch_id = batch_id


class OpenJob(Message):
    """Show the job's run screen: the one already open (live, or on the stack), else from the journal."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id


class HostKeysUnknown(Message):
    """A scan met nodes whose SSH host key is not known yet: the user reviews each one."""

    def __init__(self, nodes: Sequence[NodeResult]) -> None:
        super().__init__()
        self.nodes = tuple(nodes)


# ---- what a run screen tells the app ---------------------------------------------------------------
class JobStarted(Message):
    """A job's runner started on its run screen (the screen stays installed while it runs)."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id


class JobEnded(Message):
    """A job's runner stopped: `state` is where it stopped (done, waiting, failed, aborted, ready)."""

    def __init__(self, job_id: str, cluster: str, state: str, detail: str = "") -> None:
        super().__init__()
        self.job_id = job_id
        self.cluster = cluster
        self.state = state
        self.detail = detail
