"""Errors that reach the user.

Every failure a user can act on is a :class:`UctermError` whose message is one sentence naming
the file, node or field involved and what to do. The CLI prints that sentence (never a
traceback) and exits with :attr:`UctermError.exit_code`.
"""

from __future__ import annotations


class UctermError(Exception):
    """An error the user can act on: one sentence naming the file, node or field, and what to do."""

    exit_code: int = 2


class InventoryError(UctermError):
    """The inventory file is missing, unreadable or inconsistent."""

    exit_code = 3


class CredentialError(UctermError):
    """A credential reference cannot be resolved (unset variable, no keyring, no prompt available)."""

    exit_code = 3
