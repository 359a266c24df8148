"""Credential references resolve to secrets that never show themselves."""

from __future__ import annotations

import sys

import pytest

from ucterm.credentials import CredentialStore, Secret
from ucterm.errors import CredentialError


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UCTERM_TEST_PW", "s3cret")
    secret = CredentialStore().resolve("env:UCTERM_TEST_PW", what='os_password for cluster "hq"')
    assert secret.reveal() == "s3cret"
    assert "s3cret" not in repr(secret) and "s3cret" not in f"{secret}"


def test_unset_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UCTERM_NOPE", raising=False)
    with pytest.raises(CredentialError, match="UCTERM_NOPE, which is not set"):
        CredentialStore().resolve("env:UCTERM_NOPE", what="os_password")


def test_prompt_asks_once_and_remembers() -> None:
    asked: list[str] = []

    def prompter(q: str) -> str:
        asked.append(q)
        return "typed"

    store = CredentialStore(prompter=prompter)
    assert store.resolve("prompt", what='os_password for cluster "hq"') == Secret("typed")
    assert store.resolve("prompt", what='os_password for cluster "hq"').reveal() == "typed"
    assert len(asked) == 1


def test_prompt_without_terminal_is_a_clear_error() -> None:
    with pytest.raises(CredentialError, match="no terminal to ask on"):
        CredentialStore().resolve("prompt", what="os_password")


def test_keyring_missing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import keyring` raise ImportError, installed or not.
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(CredentialError, match="keyring package is not installed"):
        CredentialStore().resolve("keyring:ucterm", what="os_password")
