"""Toggles whose state reads without colour (style.md: never colour alone; NO_COLOR, 256 colours).

Textual draws every radio button `▐●▌`, every checkbox and selection-list entry `▐X▌`, on or off,
and tells them apart by colour only. These draw the mark only when the toggle is on (`▐●▌` /
`▐ ▌`, `▐X▌` / `▐ ▌`), so a plain terminal capture shows which option is chosen.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, RadioButton, SelectionList
from textual.widgets._toggle_button import ToggleButton

#: What an unset toggle shows in place of its mark.
OFF = " "


class StateRadioButton(RadioButton):
    """A radio button with `●` when chosen and a blank when not."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # a class constant upstream, per state here
        return RadioButton.BUTTON_INNER if self.value else OFF


class StateCheckbox(Checkbox):
    """A checkbox with `X` when checked and a blank when not."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # a class constant upstream, per state here
        return Checkbox.BUTTON_INNER if self.value else OFF


class StateSelectionList(SelectionList[str]):
    """A selection list whose unselected entries show a blank instead of `X`."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        if not 0 <= index < self.option_count:
            return line
        if self.get_option_at_index(index).value in self.selected:
            return line
        segments = list(line)
        # SelectionList.render_line puts BUTTON_LEFT, BUTTON_INNER, BUTTON_RIGHT first.
        if len(segments) > 1 and segments[1].text == ToggleButton.BUTTON_INNER:
            segments[1] = Segment(OFF, segments[1].style)
            return Strip(segments, line.cell_length)
        return line
