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


#: What ucterm's own screens and widgets are called in help (by class name).
_NAMES = {"MainScreen": "main screen", "UctermApp": "everywhere", "EstateTree": "estate tree",
          "CertTable": "certificate table", "CertDetail": "detail pane", "FilterInput": "filter",
          "RenewalScreen": "renewal options", "PlanScreen": "plan preview", "RunScreen": "running renewal",
          "JobsScreen": "jobs", "SignedCertScreen": "the CA's answer", "StepTable": "steps",
          "NodeLogs": "transcript", "PlanStepTable": "plan steps", "PlanStepDetail": "step detail",
          "HelpScreen": "help", "ConfirmModal": "question", "TextModal": "question",
          "PasswordModal": "password", "HostKeyModal": "host key"}
#: Textual's widgets, in the words of someone who has never read its source (by class name, MRO order).
_KINDS = {"Select": "drop-down list", "SelectCurrent": "drop-down list", "SelectOverlay": "drop-down list",
          "Input": "text field", "TextArea": "text box", "Checkbox": "checkbox", "RadioButton": "option",
          "RadioSet": "options", "SelectionList": "list", "OptionList": "list", "DataTable": "table",
          "Tree": "tree", "Button": "button", "Log": "log", "RichLog": "log", "Tabs": "tabs",
          "TabbedContent": "tabs", "ContentSwitcher": "tabs", "ScrollableContainer": "scrolling pane",
          "Screen": "screen", "ModalScreen": "dialog", "App": "everywhere"}


def _kind(node: DOMNode) -> str | None:
    for cls in type(node).__mro__:
        if cls.__name__ in _NAMES:
            return _NAMES[cls.__name__]
        if cls.__name__ in _KINDS:
            return _KINDS[cls.__name__]
    return None


def _field_label(node: DOMNode) -> str | None:
    """The label beside a form field (the Label just before the field's cell in its Grid)."""
    from textual.containers import Grid

    cell: DOMNode | None = node
    while cell is not None and cell.parent is not None and not isinstance(cell.parent, Grid):
        cell = cell.parent
    if cell is None or not isinstance(cell.parent, Grid):
        return None
    siblings = list(cell.parent.children)
    index = siblings.index(cell)  # type: ignore[arg-type]
    before = siblings[index - 1] if index > 0 else None
    return str(before.content) if isinstance(before, Label) else None


#: Containers whose role their class does not say, by id.
_BY_ID = {"renew-form": "the form", "signed-form": "the form", "jobs-table": "jobs table",
          "help-scroll": "help text", "dialog-scroll": "the question"}


def _owner_title(node: DOMNode) -> str:
    """A help section's title: ucterm's name for the widget, a form field's label, or what it is."""
    name = _NAMES.get(type(node).__name__) or _BY_ID.get(node.id or "")
    if name:
        return name
    kind = _kind(node) or "this pane"
    label = _field_label(node)
    return f"{label} ({kind})" if label else kind


def friendly_name(node: DOMNode) -> str:
    """Where help was asked: `estate tree`, or `renewal options · unit (drop-down list)`."""
    title = _owner_title(node)
    screen = node if isinstance(node, Screen) else getattr(node, "screen", None)
    if type(node).__name__ in _NAMES or node.id in _BY_ID or screen is None or screen is node:
        return title
    return f"{_owner_title(screen)} · {title}"


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
