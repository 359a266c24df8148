"""What every screen shares: disabled actions that say why, and `esc` goes back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from ucterm.tui.app import UctermApp


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

    @property
    def uc(self) -> UctermApp:
        from ucterm.tui.app import UctermApp

        assert isinstance(self.app, UctermApp)
        return self.app

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


class BaseModal(ReasonedActions, ModalScreen[Any]):
    @property
    def uc(self) -> UctermApp:
        from ucterm.tui.app import UctermApp

        assert isinstance(self.app, UctermApp)
        return self.app
