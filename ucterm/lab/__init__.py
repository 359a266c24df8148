"""The embedded lab: an estate of simulated VOS nodes on 127.0.0.1 (design.md §1).

It serves `ucterm demo`, rehearsals of a renewal, and the tests. It behaves like the appliances
described in `shared/domain/cisco-uc-certs.md`, quirks included, and never imports the client
side (`ucterm.vos`, `ucterm.renewal`, `ucterm.scan`, `ucterm.pki`, `ucterm.tui`), so that the two
cannot share a misunderstanding.

Public API: :class:`LabEstate` (`demo()`, `scaled()`, `start()`, `stop()`, `nodes`, `node()`,
`clusters`, `ca`, `credentials`, `set_ha()`, `take_down()`, `bring_up()`, `write_inventory()`),
:class:`LabNode` (state and operations of one node: certificates, CSRs and `default_sans()`,
service operations, `watch_services()`), :class:`LabCA` and :func:`load_ca`, :data:`CREDENTIALS`,
:data:`PROFILES`.

Layers: the node state (`node.py`) has no sockets; `LabEstate.start()` binds every node's ports
(`server.py`: the SSH CLI of `shell.py`/`commands.py`, and a listener per TLS port) and then calls
:func:`ucterm.lab.network.install_endpoints`, which puts the TLS endpoints (`tls.py`) and the
HTTPS APIs behind 8443 (`http.py`, `api_certmgr.py`, `api_soap.py`, `api_axl.py`) on those ports.
`install_endpoints` is idempotent, so code that started an estate itself may call it again.
"""

from ucterm.lab.ca import LabCA, load_ca
from ucterm.lab.credentials import CREDENTIALS, LabCredentials
from ucterm.lab.errors import LabError, VosError
from ucterm.lab.estate import LabEstate
from ucterm.lab.node import Identity, ImportResult, LabNode, PendingCsr, TrustEntry
from ucterm.lab.profiles import PROFILES, Profile
from ucterm.lab.services import RestartResult

__all__ = [
    "CREDENTIALS",
    "PROFILES",
    "Identity",
    "ImportResult",
    "LabCA",
    "LabCredentials",
    "LabError",
    "LabEstate",
    "LabNode",
    "PendingCsr",
    "Profile",
    "RestartResult",
    "TrustEntry",
    "VosError",
    "load_ca",
]
