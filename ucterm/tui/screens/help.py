"""`?` help: what the focused widget is for and every key that works here, from the bindings.

Generated, never hand-written: the keys come from the active binding chain (focused widget →
screen → app) with the user's keymap applied, disabled ones with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Label, Static

from ucterm.tui.screens.base import BaseModal


@dataclass(frozen=True)
class HelpEntry:
    keys: str
    description: str
    tooltip: str
    binding_id: str
    disabled: str | None


@dataclass(frozen=True)
class HelpSection:
    title: str
    text: str
    entries: tuple[HelpEntry, ...]


def _owner_title(node: DOMNode) -> str:
    name = type(node).__name__
    words = {"MainScreen": "main screen", "UctermApp": "everywhere", "EstateTree": "estate tree",
             "CertTable": "certificate table", "CertDetail": "detail pane", "FilterInput": "filter",
             "RenewalScreen": "renewal options", "PlanScreen": "plan preview", "RunScreen": "running renewal",
             "JobsScreen": "jobs", "SignedCertScreen": "the CA's answer", "StepTable": "steps",
             "NodeLogs": "transcript", "PlanStepTable": "plan steps", "PlanStepDetail": "step detail"}
    return words.get(name, name)


def friendly_name(node: DOMNode) -> str:
    return _owner_title(node)


def help_sections(screen: Screen[object]) -> list[HelpSection]:
    """The sections for `screen`: focused widget first, then its ancestors, the screen, the app."""
    app = screen.app
    by_owner: dict[int, tuple[DOMNode, dict[str, list[Binding]]]] = {}
    order: list[int] = []
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system or not binding.description:
            continue
        owner = active.node
        if id(owner) not in by_owner:
            by_owner[id(owner)] = (owner, {})
            order.append(id(owner))
        actions = by_owner[id(owner)][1]
        actions.setdefault(binding.action, []).append(binding.with_key(key))
    sections = []
    for oid in order:
        owner, actions = by_owner[oid]
        entries = []
        for action, bindings in actions.items():
            first = bindings[0]
            keys = ", ".join(dict.fromkeys(app.get_key_display(b) for b in bindings))
            reason = None
            reason_of = getattr(owner, "disabled_reason", None)
            if callable(reason_of):
                name = action.rsplit(".", 1)[-1].split("(", 1)[0]
                reason = reason_of(name)
            entries.append(HelpEntry(keys, first.description, first.tooltip, first.id or "", reason))
        text = getattr(owner, "HELP", "") or ""
        sections.append(HelpSection(_owner_title(owner), text, tuple(entries)))
    return sections


def _plain_line(entries: list[HelpEntry]) -> Content:
    """Keys without a tooltip (cursor moves and the like) share one `also` line."""
    parts: list[str | tuple[str, str]] = [("also ", "$text-muted")]
    for i, e in enumerate(entries):
        parts += [("" if i == 0 else " · ", "$text-muted"), (e.keys, "bold $accent"), f" {e.description.lower()}"]
    return Content.assemble(*parts)


def help_rows(sections: list[HelpSection]) -> ComposeResult:
    """One widget per line of help; a described key is a row of three columns.

    Columns are separate widgets so that a long description wraps inside its own column instead of
    running back under the keys (a hanging indent that plain text cannot give).
    """
    for section in sections:
        yield Static(Content.styled(section.title, "bold $accent"), classes="help-title")
        if section.text:
            yield Static(Content(section.text), classes="help-text")
        for e in (e for e in section.entries if e.tooltip):
            description = Content(e.tooltip) if not e.disabled else Content.assemble(
                (e.tooltip, "$text-muted"), "\n", ("disabled: ", "$warning"), (e.disabled, "$text-muted"))
            yield Horizontal(
                Static(Content.styled(e.keys, "bold $text-muted" if e.disabled else "bold $accent"),
                       classes="help-key"),
                Static(Content.styled(e.description, "bold"), classes="help-name"),
                Static(description, classes="help-desc"),
                classes="help-row")
        plain = [e for e in section.entries if not e.tooltip]
        if plain:
            yield Static(_plain_line(plain), classes="help-text")
    yield Static(Content.styled("Binding ids (shown in the palette) can be remapped in config.toml [keymap].",
                                "$text-muted"), classes="help-title")


class HelpScreen(BaseModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q,f1", "close", "Close", id="help.close", tooltip="Close the help"),
    ]

    def __init__(self, sections: list[HelpSection], title: str = "Help") -> None:
        super().__init__(classes="help")
        self._sections = sections
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(self._title, id="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield from help_rows(self._sections)
            yield Static(Content.styled("esc closes · ↑↓ scroll", "$text-muted"), id="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
