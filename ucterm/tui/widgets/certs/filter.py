"""The `/` filter line: text terms, `!term` negates; applied as you type."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input


class FilterInput(Input):
    """Filter text box that hands the keyboard back the moment enter or esc is read.

    Keys arrive in the order typed but are queued per widget, and bindings run only once a key has
    bubbled up to the app: a key typed right after enter (`/cup<enter>?`) is already in this box's
    queue by then. So enter and esc are handled here, focus moves synchronously, and keys that
    were queued here before it moved are passed on to the widget that now has focus instead of
    being typed into the filter.
    """

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

    def __init__(self, *, return_to: str, id: str | None = None) -> None:
        # Fits the table's width beside the tree at 80 columns (the help says the rest).
        super().__init__(placeholder="type to filter · !word excludes · esc clears", id=id)
        self._return_to = return_to

    def _hand_back(self, cleared: bool) -> None:
        target = self.screen.query_one(self._return_to, Widget)
        self.screen.set_focus(target)
        self.post_message(self.Done(cleared=cleared))

    def action_clear_filter(self) -> None:
        self.value = ""
        self._hand_back(cleared=True)

    async def action_submit(self) -> None:
        self._hand_back(cleared=False)

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused
        if focused is not None and focused is not self:
            # Typed after enter/esc but queued here before focus moved: it belongs to the table.
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("enter", "escape"):
            # Handled here, in this box's own queue, rather than by the binding once the key has
            # bubbled up to the app: by then the next key may already be queued here.
            event.stop()
            event.prevent_default()
            if event.key == "escape":
                self.action_clear_filter()
            else:
                self._hand_back(cleared=False)
            return
        await super()._on_key(event)
