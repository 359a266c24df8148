"""Where the signed certificate comes from: the user's files, the lab CA, or a `[[signer]]` of the inventory.

- :mod:`.base`: the :class:`Signer` and :class:`JournaledSigner` protocols, :class:`SignerPending`
  (the job waits, exit 4), :class:`SignerError`, and the :class:`SigningContext` a journaled
  signer resumes from;
- :mod:`.files`: what the user hands over (:class:`FilesSigner`, :class:`Material`, :func:`match_signed`);
- :mod:`.lab`: the lab CA (:class:`LabCaSigner`, :func:`lab_ca_signer`);
- :mod:`.adcs`, :mod:`.vault`, :mod:`.acme`, :mod:`.command`: the kinds of `[[signer]]` tables,
  built by :func:`build_signer` (:mod:`.factory`), each loading its protocol library on first use.
"""

from __future__ import annotations

from ucterm.renewal.signers.base import JournaledSigner, Signer, SignerError, SignerPending, SigningContext
from ucterm.renewal.signers.factory import build_signer
from ucterm.renewal.signers.files import FilesSigner, Material, match_signed
from ucterm.renewal.signers.lab import LabCaSigner, lab_ca_signer

__all__ = [
    "FilesSigner",
    "JournaledSigner",
    "LabCaSigner",
    "Material",
    "Signer",
    "SignerError",
    "SignerPending",
    "SigningContext",
    "build_signer",
    "lab_ca_signer",
    "match_signed",
]
