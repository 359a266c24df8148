"""Errors of the lab.

:class:`VosError` is a refusal *by the simulated appliance* (what VOS would print), carried to
whichever face asked: the SSH shell prints its lines, the HTTPS APIs will put them in a JSON body.
:class:`LabError` is a misuse of the lab itself (unknown node, estate not started): one sentence
for the person running the lab, like every :class:`~ucterm.errors.UctermError`.
"""

from __future__ import annotations

from ucterm.errors import UctermError


class LabError(UctermError):
    """The lab was asked for something it does not have or cannot do now."""

    exit_code = 2


class VosError(Exception):
    """A VOS refusal; `lines` are the texts the CLI prints (from :mod:`ucterm.lab.texts`)."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0] if lines else "VOS refused the operation")
        self.lines: tuple[str, ...] = lines

    @property
    def message(self) -> str:
        return self.lines[0] if self.lines else str(self)
