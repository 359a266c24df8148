"""The terminal application (Textual): expiry at a glance, renewals from the keyboard.

Only this package imports Textual. The CLI reaches it through :mod:`ucterm.tui.launch`, which
imports the app lazily so that `ucterm --help` and the headless commands stay light.
"""
