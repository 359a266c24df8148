"""Textual messages: engine events delivered to the screen that started the work.

The engine reports through a plain callback (`ucterm.events.EventSink`); the TUI's sink posts
each event as an :class:`EngineEvent`, so widgets update from the message queue and tests
assert on exactly the events the engine emitted (`run_test(message_hook=...)`).
"""

from __future__ import annotations

from textual.message import Message

from ucterm.events import Event
from ucterm.scan.model import ScanResult


class EngineEvent(Message, bubble=False):
    """One engine event (ScanProgress, NodeScanned, StepStarted, TranscriptLine, …)."""

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


class SessionFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
