"""From a `[[signer]]` table to a signer: one place that knows which class serves which kind.

Each kind's module is imported only when its kind is asked for, so an inventory with an AD CS
signer never loads the ACME library, and `ucterm jobs` loads none of them.
"""

from __future__ import annotations

from ucterm.credentials import CredentialStore
from ucterm.renewal.signers.base import JournaledSigner
from ucterm.signer_config import SignerConfig


def build_signer(config: SignerConfig, credentials: CredentialStore | None = None) -> JournaledSigner:
    """The signer for `config`. Its secrets are resolved when it signs, through the store the
    runner hands it (which feeds the journal's redactor); `credentials` serves calls without a runner."""
    if config.kind == "adcs":
        from ucterm.renewal.signers.adcs import AdcsSigner

        return AdcsSigner(config, credentials)
    if config.kind == "vault":
        from ucterm.renewal.signers.vault import VaultSigner

        return VaultSigner(config, credentials)
    if config.kind == "acme":
        from ucterm.renewal.signers.acme import AcmeSigner

        return AcmeSigner(config, credentials)
    from ucterm.renewal.signers.command import CommandSigner

    return CommandSigner(config)
