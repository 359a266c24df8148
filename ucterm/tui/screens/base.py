"""What every screen shares: disabled actions that say why, `esc` goes back, toasts without markup.

Screens get what they need in their constructors (the session, the app's way of asking for
passwords) and post a message (`ucterm.tui.messages`) for anything that changes which screen is
shown; they never reach into the app. A screen leaves with `dismiss` (a modal with its answer).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.visual import VisualType
from textual.widgets import Static

from ucterm.tui.widgets.common.safe import safe


class ReasonedActions:
    """Mixin: `disabled_reason(action)` disables an action (dimmed in the footer, not hidden).

    The app tells the user the reason when they press a disabled key (lazygit: "a disabled key
    says why"); the help screen lists it next to the key.
    """

    def disabled_reason(self, action: str) -> str | None:
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if self.disabled_reason(action) else True


class BaseScreen(ReasonedActions, Screen[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Go back to the previous screen"),
    ]

    def say(self, message: str, *, severity: SeverityLevel = "information") -> None:
        """A toast; engine text (node names, paths, errors) is never read as markup, and its control
        characters are shown, never obeyed."""
        self.notify(safe(message, lines=True), severity=severity, markup=False)

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        if self.is_active:
            self.dismiss()


class BaseModal(ReasonedActions, ModalScreen[Any]):
    """A dialog whose body scrolls (from the keyboard too) when the terminal is too short for it.

    A confirmation lists every risky step and risk note: on an 80×24 jumpbox terminal that can be
    taller than the screen, and the buttons must stay visible, so the body gets what is left.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_body(-1)", "Scroll up", show=False, id="dialog.up"),
        Binding("down", "scroll_body(1)", "Scroll down", show=False, id="dialog.down"),
        Binding("pageup", "scroll_body(-10)", "Page up", show=False, id="dialog.pageup"),
        Binding("pagedown", "scroll_body(10)", "Page down", show=False, id="dialog.pagedown"),
    ]

    #: Rows a dialog needs besides its body: border, title, buttons and the screen margin.
    CHROME_ROWS = 12

    @staticmethod
    def body(content: VisualType) -> VerticalScroll:
        # Bodies quote nodes, certificates and errors: control characters shown, never obeyed.
        shown = safe(content, lines=True) if isinstance(content, str | Content | Text) else content
        return VerticalScroll(Static(shown, id="dialog-body"), id="dialog-scroll", can_focus=False)

    def _fit_body(self) -> None:
        for scroll in self.query("#dialog-scroll").results(VerticalScroll):
            scroll.styles.max_height = max(3, min(16, self.size.height - self.CHROME_ROWS))

    def on_mount(self) -> None:
        self._fit_body()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_body()

    def action_scroll_body(self, rows: int) -> None:
        for scroll in self.query("#dialog-scroll").results(VerticalScroll):
            scroll.scroll_relative(y=rows, animate=False)
