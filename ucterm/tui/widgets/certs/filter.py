"""The `/` filter line: text terms, `!term` negates; applied as you type."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", id="filter.clear",
                tooltip="Clear the filter and return to the table"),
    ]

    HELP = ("Filter the certificate table: every word must match (unit, store, node, CN, issuer, "
            "SAN, status such as expired or 12d); `!word` excludes. Enter keeps the filter and returns "
            "to the table; esc clears it.")

    class Done(Message):
        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter: words all match, !word excludes (enter keep, esc clear)", id=id)

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Done(cleared=True))

    async def action_submit(self) -> None:
        self.post_message(self.Done(cleared=False))
