"""The lab's fixed, documented credentials: what `ucterm lab` prints and its inventory uses.

Its own module because the lab's APIs (certmgr, Control Center, AXL) check logins against it
and should not need the estate to do so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CREDENTIALS", "LabCredentials"]


@dataclass(frozen=True)
class LabCredentials:
    """The lab's fixed, documented credentials (not secrets: the lab listens on loopback only)."""

    os_user: str = "admin"
    os_password: str = field(default="ucterm-lab-os", repr=False)
    app_user: str = "axladmin"
    app_password: str = field(default="ucterm-lab-axl", repr=False)


CREDENTIALS = LabCredentials()
