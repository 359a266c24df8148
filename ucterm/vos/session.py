"""One node, all the ways ucterm talks to it: the SSH CLI, certmgr REST, Control Center, AXL.

:class:`NodeSession` opens nothing until it is used: the SSH shell on the first CLI command,
the HTTPS clients on their first request. It also says, per operation, whether the CLI or the
REST API does the work (:meth:`NodeSession.transport_for`), by the rule the renewal plan uses too
(:func:`ucterm.vos.transport.choose`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from cryptography import x509

from ucterm import catalog
from ucterm.credentials import CredentialStore, Secret, password_what
from ucterm.events import EventSink
from ucterm.vos.axl import AxlClient
from ucterm.vos.certmgr import CertMgrClient
from ucterm.vos.commands import VosCli
from ucterm.vos.errors import UnsupportedOperation
from ucterm.vos.http import HttpsEndpoint, NodeHttpClient
from ucterm.vos.limits import DEFAULT_LIMIT, ConnectionLimiter
from ucterm.vos.shell import ShellOptions, SshEndpoint, VosShell
from ucterm.vos.soap import ControlCenterClient
from ucterm.vos.target import NodeTarget
from ucterm.vos.tls import PinStore
from ucterm.vos.transport import Channel, Operation, choose

__all__ = ["DEFAULT_LIMIT", "ConnectionLimiter", "NodeSession", "NodeTarget", "Operation"]


class NodeSession:
    """`async with NodeSession(target, credentials, sink) as s:` then `s.cli`, `s.rest`, …"""

    def __init__(
        self,
        target: NodeTarget,
        credentials: CredentialStore,
        sink: EventSink | None = None,
        *,
        limiter: ConnectionLimiter | None = None,
        pins: PinStore | None = None,
        shell_options: ShellOptions | None = None,
        http_timeout: float | None = None,
    ) -> None:
        self.target = target
        self.credentials = credentials
        self.sink = sink
        self.limiter = limiter
        self.pins = pins or PinStore()
        s = target.settings
        #: The deadline of one HTTPS request, body included: 60 s, or the node's command_timeout when
        #: that is shorter (a user who bounds commands bounds REST calls with it).
        self.http_timeout = http_timeout if http_timeout is not None else min(60.0, s.command_timeout)
        self.shell = VosShell(
            SshEndpoint(
                node=target.fqdn,
                address=target.address,
                port=target.port("ssh"),
                username=s.os_user,
                known_hosts=s.known_hosts_path,
                trust_on_first_use=s.trust_on_first_use,
            ),
            self._os_password,
            sink=sink,
            limiter=limiter,
            options=shell_options or ShellOptions(banner_timeout=s.banner_timeout, command_timeout=s.command_timeout),
        )
        self._cli = VosCli(self.shell, version=target.version)
        self._http: dict[tuple[str, int], NodeHttpClient] = {}

    # -- credentials (resolved on first use; a `prompt` reference asks once per process)

    def _os_password(self) -> Secret:
        return self.credentials.resolve(
            self.target.settings.os_password,
            what=self.target.os_password_what or password_what("os_password", self.target.cluster),
        )

    def _app_password(self) -> Secret:
        return self.credentials.resolve(
            self.target.settings.app_password,
            what=self.target.app_password_what or password_what("app_password", self.target.cluster),
        )

    # -- lifecycle

    async def __aenter__(self) -> NodeSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.shell.close()
        for client in self._http.values():
            await client.aclose()
        self._http.clear()

    # -- faces

    @property
    def version(self) -> catalog.Version | None:
        """The inventory's version, or what `show version active` found since."""
        return self._cli.version or self.target.version

    @property
    def cli(self) -> VosCli:
        return self._cli

    def _client(self, port_name: str, channel: str, user: str, password: Callable[[], Secret]) -> NodeHttpClient:
        port = self.target.port(port_name)
        key = (channel, port)
        if key not in self._http:
            endpoint = HttpsEndpoint(
                node=self.target.fqdn,
                address=self.target.address,
                port=port,
                ca_bundle=self.target.settings.ca_bundle,
                pin=self.pins.get(self.target.fqdn),
            )
            self._http[key] = NodeHttpClient(
                endpoint,
                user=user,
                password=password,
                sink=self.sink,
                channel=channel,
                timeout=self.http_timeout,
                limiter=self.limiter,
            )
        return self._http[key]

    @property
    def rest(self) -> CertMgrClient | None:
        """certmgr on this node, or None below v14 (§4.1 [VERIFIED: S-DEVNET-CM])."""
        if not catalog.rest_api_available(self.version):
            return None
        return CertMgrClient(self._client("rest", "rest", self.target.settings.os_user, self._os_password))

    @property
    def control_center(self) -> ControlCenterClient:
        """Control Center Services on HTTPS 8443, as the application user (§4.2)."""
        return ControlCenterClient(self._client("https", "soap", self._app_user(), self._app_password))

    @property
    def axl(self) -> AxlClient:
        """AXL on HTTPS 8443 (call it on the CUCM publisher), as the application user (§4.3)."""
        return AxlClient(self._client("https", "axl", self._app_user(), self._app_password), self.version)

    def _app_user(self) -> str:
        user = self.target.settings.app_user
        if not user:
            raise UnsupportedOperation(
                f'{self.target.fqdn}: no app_user is set for cluster "{self.target.cluster}"; add app_user and '
                "app_password to the inventory to use Control Center and AXL.",
                node=self.target.fqdn,
            )
        return user

    async def accept_tls_certificate(self, certificate: x509.Certificate) -> Path:
        """Pin the certificate a :class:`TlsVerifyError` showed (the user accepted it) and use it from now on."""
        path = self.pins.pin(self.target.fqdn, certificate)
        for client in self._http.values():
            await client.aclose()
        self._http.clear()
        return path

    async def ensure_version(self) -> catalog.Version | None:
        """The node's release, asking `show version active` when the inventory does not say (REST needs it)."""
        if self.version is None:
            await self._cli.show_version()
        return self.version

    # -- transport choice

    def transport_for(self, operation: Operation) -> Channel:
        """`cli` or `rest` for an operation on this node, by the one rule in
        :func:`ucterm.vos.transport.choose` (the renewal plan asks it too), from the inventory's
        `transport` setting and the release known now; :class:`UnsupportedOperation` when neither fits."""
        return choose(operation, self.version, self.target.settings.transport, node=self.target.fqdn,
                      cluster=self.target.cluster)
