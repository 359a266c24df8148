"""Typed events the engine reports through an async callback.

The engine never imports Textual: the TUI turns these into messages, the headless CLI prints
them on stderr. Keeping them plain dataclasses makes them easy to journal and to assert on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """Base class: every event carries when it happened."""

    ts: datetime = field(default_factory=utcnow, kw_only=True)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind
        d["ts"] = self.ts.isoformat()
        return d


Direction = Literal["sent", "received", "info"]


@dataclass(frozen=True)
class TranscriptLine(Event):
    """One line sent to or received from a node, secrets already redacted."""

    node: str
    direction: Direction
    text: str
    channel: str = "ssh"  # ssh | rest | soap | axl | tls


@dataclass(frozen=True)
class NodeNotice(Event):
    """Something about a connection the user should see (reconnect, host key, slow banner)."""

    node: str
    message: str
    level: Literal["info", "warning", "error"] = "info"


EventSink = Callable[[Event], Awaitable[None] | None]


async def emit(sink: EventSink | None, event: Event) -> None:
    """Deliver an event to a sink that may be sync or async; no sink, no work."""
    if sink is None:
        return
    result = sink(event)
    if result is not None:
        await result
