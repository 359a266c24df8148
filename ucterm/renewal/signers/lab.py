"""The lab CA as a signer: in-process (`ucterm demo`, tests) or loaded from beside a lab inventory."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ucterm.errors import UctermError
from ucterm.renewal.signers.base import Signer


class LabCaSigner:
    """The lab CA (in-process: `ucterm demo` and tests), whose `sign(csr_pem)` may be sync or async."""

    label = "the lab CA"

    def __init__(self, ca: Any) -> None:
        self.ca = ca

    async def sign(self, csr_pem: str) -> tuple[str, list[str]]:
        result = self.ca.sign(csr_pem)
        if inspect.isawaitable(result):
            result = await result
        leaf, chain = result
        return leaf, list(chain)


def lab_ca_signer(folder: Path | None) -> Signer:
    """The lab CA for `ucterm renew --lab-ca` in another process than the lab.

    `ucterm lab --write-inventory` writes the CA beside the inventory and sets `lab_ca` in its
    [defaults]; the lab package knows how to load it back (:func:`ucterm.lab.load_ca`).
    """
    if folder is None:
        raise UctermError("--lab-ca works only with an inventory written by `ucterm lab --write-inventory` "
                          "(it sets lab_ca); use --signed FILE for a real CA.")
    try:
        from ucterm import lab
    except ImportError:  # pragma: no cover - the lab ships with ucterm
        raise UctermError("the lab package is not available in this installation; use --signed FILE.") \
            from None
    loader = getattr(lab, "load_ca", None)
    if loader is None:
        raise UctermError("this ucterm's lab cannot load its CA from a folder; use --signed FILE.")
    return LabCaSigner(loader(folder))
