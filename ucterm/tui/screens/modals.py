"""Small modal questions: confirm, a reason, a password, an unknown host key.

Each returns its answer through `dismiss`, so callers `await push_screen_wait(...)` from a
worker or pass a callback. `esc` always means "no" / "cancel".
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from ucterm.tui.screens.base import BaseModal
from ucterm.tui.session import CredentialQuestion
from ucterm.tui.widgets.common.safe import safe


class ConfirmModal(BaseModal):
    """Yes/no. For actions that are hard to undo (`danger`), only `y` confirms, never a stray enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Cancel"),
    ]

    def __init__(self, title: str, body: str | Content, *, yes: str = "Yes", no: str = "No",
                 danger: bool = False) -> None:
        super().__init__(classes="confirm danger" if danger else "confirm")
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(safe(self._title), id="dialog-title")
            yield self.body(self._body)
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self._yes} (y)", id="yes", variant="error" if self.danger else "primary")
                yield Button(f"{self._no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextModal(BaseModal):
    """One line of text (a reason, a path). Empty answers are refused with a sentence."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="text.cancel", tooltip="Cancel without answering"),
    ]

    def __init__(self, title: str, prompt: str | Content, *, placeholder: str = "", value: str = "",
                 password: bool = False, required: str = "type an answer, or esc to cancel") -> None:
        super().__init__(classes="text-modal")
        self._title = title
        self._prompt = prompt
        self._placeholder = placeholder
        self._value = value
        self._password = password
        self._required = required

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(safe(self._title), id="dialog-title")
            yield self.body(self._prompt)
            yield Input(value=self._value, placeholder=self._placeholder, password=self._password, id="answer")
            yield Static("", id="dialog-error")
            yield Static(Content.styled("enter confirms · esc cancels", "$text-muted"), id="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value if self._password else event.value.strip()
        if not value:
            self.query_one("#dialog-error", Static).update(Content.styled(self._required, "$error"))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PasswordModal(TextModal):
    """A `prompt` credential: asked once, kept in memory only, never written anywhere."""

    def __init__(self, question: CredentialQuestion) -> None:
        user = f" for {question.user}" if question.user else ""
        super().__init__(
            "Password needed",
            f"The inventory says prompt for the {question.what}{user}. ucterm keeps it in memory for this "
            "session only and never writes it anywhere.",
            placeholder="password", password=True, required="type the password, or esc to cancel")


class HostKeyModal(BaseModal):
    """An unknown SSH host key: show the fingerprint; the user accepts (recorded) or refuses."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer(True)", "Accept", id="hostkey.accept",
                tooltip="Record this key in known_hosts and connect"),
        Binding("r,escape", "answer(False)", "Refuse", id="hostkey.refuse", tooltip="Do not connect to this node"),
    ]

    def __init__(self, node: str, fingerprint: str, where: str = "") -> None:
        super().__init__(classes="hostkey")
        self._node = node
        self._fingerprint = fingerprint
        self._where = where

    def compose(self) -> ComposeResult:
        body = Content.assemble(
            f"{self._node} presented an SSH host key that ucterm has not seen before",
            f" ({self._where})" if self._where else "", ".\n\n",
            ("fingerprint  ", "bold $text-muted"), (self._fingerprint, "bold"), "\n\n",
            "Compare it with the node's own (ask its administrator, or the console: "
            "`show ssh host-key`). Accept records it in known_hosts; a key that later changes is "
            "always refused.")
        with Vertical(id="dialog"):
            yield Label("Unknown host key", id="dialog-title")
            yield self.body(body)
            with Horizontal(id="dialog-buttons"):
                yield Button("Accept (a)", id="yes", variant="warning")
                yield Button("Refuse (r)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
