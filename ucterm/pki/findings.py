"""Findings: what `ucterm check` (and the renewal engine before an upload) reports.

The codes and their severities are a public contract (design.md §3 `ucterm check`): users
script against them. :data:`SEVERITY` is the single table both come from, so a code can never
be reported with two severities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CODES", "SEVERITY", "Finding", "Severity", "finding"]

Severity = Literal["error", "warning"]

#: design.md §3: every finding code and its severity.
SEVERITY: dict[str, Severity] = {
    "unreadable": "error",
    "leaf-missing": "error",
    "key-mismatch": "error",
    "san-mismatch": "error",
    "chain-incomplete": "error",
    "chain-signature": "error",
    "expired": "error",
    "not-yet-valid": "error",
    "ca-expired": "error",
    "eku-missing": "error",
    "wildcard": "error",
    "ip-san": "error",
    "key-too-large": "error",
    "not-a-ca": "error",
    "self-signed": "error",
    "weak-key": "warning",
    "weak-signature": "warning",
    "ku-missing": "warning",
}
CODES: tuple[str, ...] = tuple(SEVERITY)


@dataclass(frozen=True)
class Finding:
    """One problem: `message` says what is wrong and with which certificate, `fix` what to do.

    Both are single sentences without a final full stop, so that faces can compose them.
    """

    code: str
    severity: Severity
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """The contract's `code`, `severity`, `message`, plus `fix`."""
        return {"code": self.code, "severity": self.severity, "message": self.message, "fix": self.fix}

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


#: How a fix asks for more certificates on the command line (`ucterm check`, `--signed`/`--chain`).
GIVE_CHAIN = "pass it with --chain"
GIVE_CERT_AND_CHAIN = ("pass the certificate the CA issued for the node with --cert, and its CA certificates "
                       "with --chain")
#: The same requests in the words of the TUI's CA dialog, which has no flags: paths and pasted PEM.
_DIALOG_WORDS = {
    GIVE_CHAIN: "paste it with the certificate, or add its file to the paths",
    GIVE_CERT_AND_CHAIN: "give the certificate the CA issued for the node and its CA certificates (paths or "
                         "pasted PEM)",
}


def dialog_fix(fix: str) -> str:
    """`fix` as the CA dialog says it: what to paste or which file to add, not a command-line flag."""
    for cli, words in _DIALOG_WORDS.items():
        fix = fix.replace(cli, words)
    return fix


def finding(code: str, message: str, fix: str) -> Finding:
    """A finding with the contract's severity for `code` (KeyError for a code not in the contract)."""
    return Finding(code, SEVERITY[code], message, fix)
