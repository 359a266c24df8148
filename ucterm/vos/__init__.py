"""Talking to VOS appliances: the SSH CLI, the HTTPS APIs and TLS probes.

- :mod:`~ucterm.vos.session`: :class:`NodeSession` (start here); :mod:`~ucterm.vos.target`: :class:`NodeTarget`.
- :mod:`~ucterm.vos.transport`: :func:`~ucterm.vos.transport.choose`, CLI or REST per operation (pure).
- :mod:`~ucterm.vos.shell`: the interactive `admin:` shell over asyncssh.
- :mod:`~ucterm.vos.commands` / :mod:`~ucterm.vos.parsers`: typed CLI commands and pure parsers.
- :mod:`~ucterm.vos.certmgr`, :mod:`~ucterm.vos.soap`, :mod:`~ucterm.vos.axl`: HTTPS APIs (httpx).
- :mod:`~ucterm.vos.probe`: read served certificate chains (TLS, XMPP STARTTLS).
- :mod:`~ucterm.vos.hostkeys`, :mod:`~ucterm.vos.tls`: SSH host keys and TLS pins.
- :mod:`~ucterm.vos.transcript`: redaction of transcripts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ucterm.lazy import loader
from ucterm.vos.errors import (
    BannerTimeout,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    LoginRefused,
    NotDeployable,
    RestError,
    SessionDropped,
    TlsVerifyError,
    Unreachable,
    UnsafeXml,
    UnsupportedOperation,
    VosCommandError,
    VosError,
    VosImportError,
)
from ucterm.vos.limits import ConnectionLimiter
from ucterm.vos.target import NodeTarget

if TYPE_CHECKING:
    from ucterm.vos.hostkeys import accept_host_key, fetch_host_key, fingerprint
    from ucterm.vos.probe import ProbeResult, ProbeTarget, probe, probe_many, probe_node_unit
    from ucterm.vos.session import NodeSession
    from ucterm.vos.tls import PinStore
    from ucterm.vos.transcript import redact

#: Names whose modules load asyncssh or httpx: imported on first use, so that the pure parts
#: (errors, targets, the transport rule in :mod:`~ucterm.vos.transport`) cost the renewal plan,
#: `ucterm jobs` and the TUI's start-up nothing.
_LAZY = {"accept_host_key": "hostkeys", "fetch_host_key": "hostkeys", "fingerprint": "hostkeys",
         "ProbeResult": "probe", "ProbeTarget": "probe", "probe": "probe", "probe_many": "probe",
         "probe_node_unit": "probe", "NodeSession": "session", "PinStore": "tls", "redact": "transcript"}


__getattr__ = loader(__name__, _LAZY, globals())


__all__ = [
    "BannerTimeout",
    "CommandTimeout",
    "ConnectionLimiter",
    "HostKeyChanged",
    "HostKeyUnknown",
    "LoginRefused",
    "NodeSession",
    "NodeTarget",
    "NotDeployable",
    "PinStore",
    "ProbeResult",
    "ProbeTarget",
    "RestError",
    "SessionDropped",
    "TlsVerifyError",
    "Unreachable",
    "UnsafeXml",
    "UnsupportedOperation",
    "VosCommandError",
    "VosError",
    "VosImportError",
    "accept_host_key",
    "fetch_host_key",
    "fingerprint",
    "probe",
    "probe_many",
    "probe_node_unit",
    "redact",
]
