"""What every signer is: the protocol, its errors, and the journal seam a resumable signer uses.

A signer turns a CSR into the leaf and the CA chain. The simple ones (the user's files, the lab
CA) answer at once or not at all: :meth:`Signer.sign`. The signers of `[[signer]]` tables talk to
a CA that keeps state of its own (an AD CS request id, an ACME order), so that a kill -9 between
"the CA accepted the CSR" and "ucterm has the certificate" must resume the *same* request, not
submit a second one. They implement :meth:`JournaledSigner.obtain`, which gets a
:class:`SigningContext`: what an earlier attempt recorded (:meth:`SigningContext.recall`), a way to
record more before and after each request (:meth:`SigningContext.remember`, which writes the
obtain step's intent record in the job's journal), progress lines for the faces, the credential
store whose every answer the journal redacts, and a scratch folder inside the job folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ucterm.credentials import CredentialStore
from ucterm.errors import UctermError


class SignerPending(UctermError):
    """No certificate for this CSR yet: the job waits for it (exit 4).

    The message says what is awaited in one sentence (`AD CS request 17 at "corp-adcs" waits for
    a CA manager's approval`); the step adds how to go on.
    """

    exit_code = 4


class SignerError(UctermError):
    """The CA refused or could not be asked: one sentence naming the signer and what to do (exit 2)."""


@runtime_checkable
class Signer(Protocol):
    async def sign(self, csr_pem: str) -> tuple[str, list[str]]:
        """The leaf PEM and the CA chain PEMs for a CSR; :class:`SignerPending` when there is none yet."""
        ...


class SigningContext(Protocol):
    """The obtain step's side of a journaled signing (see the module docstring)."""

    #: The node whose CSR is signed (progress lines and errors name it).
    node: str
    #: The job's id (`ucterm resume JOB` in waiting messages).
    job_id: str
    #: Resolves the signer's secrets; every answer is added to the journal's redactor first.
    credentials: CredentialStore

    def recall(self) -> dict[str, Any]:
        """What earlier attempts of this step remembered (request id, order URL); {} the first time."""
        ...

    def remember(self, data: Mapping[str, Any]) -> None:
        """Journal more about the request under way (merged with what was remembered), durably,
        *before* the next request to the CA: never a secret (the journal's redactor is the second belt)."""
        ...

    async def progress(self, message: str) -> None:
        """One line for the run screen and stderr (`submitted request 17`, `pending`, `issued`)."""
        ...

    def workdir(self) -> Path:
        """A private folder inside the job folder (the command signer's CSR and output files)."""
        ...


@runtime_checkable
class JournaledSigner(Protocol):
    """A signer whose CA keeps state across calls (AD CS, ACME) or needs the job's context."""

    #: How the signer is named to the user (`signer "corp-adcs"`).
    label: str

    async def obtain(self, csr_pem: str, ctx: SigningContext) -> tuple[str, list[str]]:
        """Like :meth:`Signer.sign`, resuming what `ctx.recall()` holds; :class:`SignerPending` when the CA
        (or DNS) says to wait, :class:`SignerError` when it refuses."""
        ...
