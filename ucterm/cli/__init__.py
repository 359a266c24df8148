"""The headless face of ucterm: one module per command family.

- :mod:`~ucterm.cli.parser`: every command's arguments (the public contract, design.md §3).
- :mod:`~ucterm.cli.main`: :func:`main`, the entry point; errors become one sentence and an exit code.
- :mod:`~ucterm.cli.scan`: `ucterm scan`.
- :mod:`~ucterm.cli.check`: `ucterm check`.
- :mod:`~ucterm.cli.renew`: `ucterm renew`, `ucterm resume`, `ucterm jobs`.
- :mod:`~ucterm.cli.lab`: `ucterm lab`.
- :mod:`~ucterm.cli.info`: `ucterm info`.

The TUI's entry points (`ucterm`, `ucterm tui`, `ucterm demo`) are in :mod:`ucterm.tui.launch`.
Engine packages hold no front-end code: they report events, and these modules print them.
"""

from __future__ import annotations

from ucterm.cli.main import main
from ucterm.cli.parser import build_parser

__all__ = ["build_parser", "main"]
