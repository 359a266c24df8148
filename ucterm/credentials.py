"""Resolve credential references (`env:NAME`, `keyring:SERVICE`, `prompt`) into secrets.

Secrets live only in memory, wrapped in :class:`Secret` so that an accidental `print`, f-string,
log line or exception shows `***` instead of the value. `prompt` asks once per reference through a
callback the front end provides (a terminal `getpass` or a TUI modal) and keeps the answer for
the rest of the process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ucterm.errors import CredentialError


class Secret:
    """A secret string that never shows itself in repr/str."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


Prompter = Callable[[str], str]


def password_what(field: str, cluster: str, node: str | None = None) -> str:
    """`os_password for cluster "hq"`: how a password is named in prompts and errors, and (for
    `prompt`) the key it is remembered under, so every part of ucterm must build it here. The
    first word (the inventory field) is also the keyring user name.

    `node` names a node that has its own password in the inventory (`os_password for node
    "cucm-sub1.hq" (cluster "hq")`): it is asked for and remembered apart from its cluster's.
    Use :meth:`ucterm.inventory.Cluster.password_what`, which knows whether the node has one.
    """
    if node:
        return f'{field} for node "{node}" (cluster "{cluster}")'
    return f'{field} for cluster "{cluster}"'


@dataclass
class CredentialStore:
    """Resolves references and remembers prompted answers for the life of the process."""

    prompter: Prompter | None = None
    #: Keyed by the reference, which is the password itself when the inventory holds a literal one.
    _cache: dict[tuple[str, str], Secret] = field(default_factory=dict, repr=False)

    def resolve(self, reference: str | None, *, what: str) -> Secret:
        """Turn a reference into a secret; `what` names it for the sentence in errors and prompts.

        `what` is e.g. `os_password for cluster "hq"`.
        """
        if reference is None:
            raise CredentialError(f"{what} is not set; add it to the inventory as env:NAME, keyring:SERVICE or prompt.")
        key = (reference, what if reference == "prompt" else "")
        if key in self._cache:
            return self._cache[key]
        secret = self._resolve(reference, what)
        self._cache[key] = secret
        return secret

    def answers_without_asking(self, reference: str | None, *, what: str) -> bool:
        """Whether :meth:`resolve` would answer without a question to the user: the reference is not
        `prompt`, or its prompt was answered already (it may still fail, e.g. an unset variable)."""
        if reference is None:
            return False
        return reference != "prompt" or (reference, what) in self._cache

    def remember(self, reference: str, what: str, value: str) -> None:
        """Store an answer the front end collected itself (e.g. from a TUI modal)."""
        self._cache[(reference, what if reference == "prompt" else "")] = Secret(value)

    def _resolve(self, reference: str, what: str) -> Secret:
        if reference.startswith("env:"):
            name = reference[4:]
            if not name.strip():
                raise CredentialError(f'{what} is "env:" with no variable name; write env:NAME in the inventory.')
            value = os.environ.get(name)
            if not value:
                raise CredentialError(f"{what} refers to the environment variable {name}, which is not set; "
                                      f"export {name} before running ucterm.")
            return Secret(value)
        if reference.startswith("keyring:"):
            service = reference[8:]
            try:
                import keyring  # optional dependency
            except ImportError:
                raise CredentialError(f"{what} refers to keyring:{service} but the keyring package is not "
                                      "installed; run `pip install keyring` or use env:NAME or prompt.") from None
            user = what.split(" ", 1)[0]
            value = keyring.get_password(service, user)
            if value is None:
                raise CredentialError(f"{what}: the keyring has no password for service {service!r} and user "
                                      f"{user!r}; store it with `keyring set {service} {user}`.")
            return Secret(value)
        if reference == "prompt":
            if self.prompter is None:
                raise CredentialError(f"{what} is set to prompt but there is no terminal to ask on; "
                                      "use env:NAME or keyring:SERVICE for headless runs.")
            return Secret(self.prompter(f"{what}: "))
        # A literal (inventory.py already checked the file's permissions and warned).
        return Secret(reference)


class ObservedCredentials:
    """A CredentialStore's stand-in that hands every secret it resolves, or is told, to `seen` first:
    the journal's redactor (the runner) and the pool's users' redactors (renewal.nodes) learn a
    secret before any line that could carry it is written. Everything else is the inner store's."""

    def __init__(self, inner: CredentialStore, seen: Callable[[str], None]) -> None:
        self._inner = inner
        self._seen = seen

    def resolve(self, reference: str | None, *, what: str) -> Secret:
        secret = self._inner.resolve(reference, what=what)
        self._seen(secret.reveal())
        return secret

    def answers_without_asking(self, reference: str | None, *, what: str) -> bool:
        return self._inner.answers_without_asking(reference, what=what)

    def remember(self, reference: str, what: str, value: str) -> None:
        self._seen(value)
        self._inner.remember(reference, what, value)


def terminal_prompter(question: str) -> str:
    """Ask on the controlling terminal without echo (headless commands)."""
    import getpass

    return getpass.getpass(question)
