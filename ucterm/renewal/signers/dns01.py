"""DNS-01 records for the ACME signer: RFC 2136 dynamic update with TSIG, or the site's own programs.

VOS nodes serve no HTTP-01 tokens, so an ACME CA proves control of a node's name through a TXT
record `_acme-challenge.<name>` (RFC 8555 §8.4). Two ways to set it:

- :class:`Rfc2136`: a signed dynamic update (RFC 2136, TSIG RFC 8945) to the zone's primary,
  through dnspython (a well-kept implementation of both; imported when first used). The same
  server is then asked whether it serves the record, before the CA is told to look.
- :class:`CommandHook`: the site's `set` / `clear` / `check` programs with `{name}` and `{value}`
  filled in. `check` (optional) exiting non-zero means "not visible yet": the job waits (exit 4)
  instead of letting the CA fail the authorization.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import TYPE_CHECKING, Protocol

from ucterm.credentials import CredentialStore
from ucterm.renewal.signers.base import SignerError
from ucterm.renewal.signers.command import run_argv
from ucterm.signer_config import DnsCommand, DnsRfc2136, SignerConfig

if TYPE_CHECKING:
    import dns.resolver


class DnsProvider(Protocol):
    async def set(self, name: str, value: str) -> None: ...

    async def visible(self, name: str, value: str) -> bool: ...

    async def clear(self, name: str, value: str) -> None: ...


def _fill(argv: tuple[str, ...], name: str, value: str) -> list[str]:
    return [a.replace("{name}", name).replace("{value}", value) for a in argv]


class CommandHook:
    """`dns = { kind = "command", set = [...], clear = [...], check = [...] }`."""

    def __init__(self, config: SignerConfig, spec: DnsCommand) -> None:
        self.config = config
        self.spec = spec
        self.what = f'signer "{config.name}" dns hook'

    async def _run(self, which: str, argv: tuple[str, ...], name: str, value: str) -> tuple[int, str]:
        return await run_argv(_fill(argv, name, value), min(self.config.timeout, 120.0), f"{self.what} {which}")

    async def set(self, name: str, value: str) -> None:
        code, err = await self._run("set", self.spec.set, name, value)
        if code != 0:
            raise SignerError(f"{self.what} set exited with status {code} for {name}" + (f": {err}" if err else "")
                              + "; fix the program, then resume the job.")

    async def visible(self, name: str, value: str) -> bool:
        if self.spec.check is None:
            return True
        code, _ = await self._run("check", self.spec.check, name, value)
        return code == 0

    async def clear(self, name: str, value: str) -> None:
        if self.spec.clear is not None:
            await self._run("clear", self.spec.clear, name, value)


class Rfc2136:
    """`dns = { kind = "rfc2136", server, port, key_name, key_secret, key_algorithm, zone }`."""

    def __init__(self, config: SignerConfig, spec: DnsRfc2136, credentials: CredentialStore) -> None:
        self.config = config
        self.spec = spec
        self.what = f'signer "{config.name}" dns server {spec.server}:{spec.port}'
        self._credentials = credentials

    def _address(self) -> str:
        try:
            return str(ipaddress.ip_address(self.spec.server))
        except ValueError:
            try:
                return str(socket.getaddrinfo(self.spec.server, self.spec.port, proto=socket.IPPROTO_UDP)[0][4][0])
            except OSError as exc:
                raise SignerError(f"{self.what}: the name cannot be resolved ({exc}); give its address in "
                                  "dns.server.") from None

    def _resolver(self, address: str) -> dns.resolver.Resolver:
        import dns.resolver

        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [address]
        resolver.port = self.spec.port
        resolver.lifetime = min(self.config.timeout, 15.0)
        return resolver

    def _zone(self, name: str, address: str) -> str:
        if self.spec.zone:
            return self.spec.zone.rstrip(".") + "."
        import dns.exception
        import dns.resolver

        try:
            return dns.resolver.zone_for_name(name, resolver=self._resolver(address)).to_text()
        except (dns.exception.DNSException, OSError) as exc:
            raise SignerError(f"{self.what} does not say which zone holds {name} ({type(exc).__name__}); set "
                              "dns.zone in the inventory.") from None

    def _update(self, name: str, value: str, *, delete: bool) -> None:
        import dns.exception
        import dns.name
        import dns.query
        import dns.rcode
        import dns.tsigkeyring
        import dns.update

        secret = self._credentials.resolve(self.spec.key_secret, what=self.config.what("key_secret")).reveal()
        address = self._address()
        zone = self._zone(name, address)
        try:
            keyring = dns.tsigkeyring.from_text({self.spec.key_name: secret})
        except (ValueError, dns.exception.DNSException):
            raise SignerError(f"{self.what}: key_secret for TSIG key {self.spec.key_name} is not base64; check it "
                              "(tsig-keygen prints it as secret \"...\").") from None
        update = dns.update.UpdateMessage(zone, keyring=keyring, keyname=dns.name.from_text(self.spec.key_name),
                                          keyalgorithm=dns.name.from_text(self.spec.key_algorithm))
        record = dns.name.from_text(name)
        if delete:
            update.delete(record, "TXT", f'"{value}"')
        else:
            update.add(record, 60, "TXT", f'"{value}"')
        try:
            answer = dns.query.tcp(update, address, port=self.spec.port, timeout=min(self.config.timeout, 30.0))
        except (dns.exception.DNSException, OSError) as exc:
            raise SignerError(f"{self.what} did not take the update for {name} ({type(exc).__name__}: {exc}); "
                              "check server, port, key_name, key_algorithm and key_secret.") from None
        rcode = answer.rcode()
        if rcode != dns.rcode.NOERROR:
            raise SignerError(f"{self.what} refused the update of {name} in zone {zone} "
                              f"({dns.rcode.to_text(rcode)}); check the zone's update policy for key "
                              f"{self.spec.key_name}.")

    def _serves(self, name: str, value: str) -> bool:
        import dns.exception

        try:
            answer = self._resolver(self._address()).resolve(name, "TXT", raise_on_no_answer=False)
        except (dns.exception.DNSException, OSError):
            return False
        return any(b"".join(r.strings).decode("ascii", "replace") == value for r in answer)

    async def set(self, name: str, value: str) -> None:
        await asyncio.to_thread(self._update, name, value, delete=False)

    async def visible(self, name: str, value: str) -> bool:
        return await asyncio.to_thread(self._serves, name, value)

    async def clear(self, name: str, value: str) -> None:
        await asyncio.to_thread(self._update, name, value, delete=True)


def provider(config: SignerConfig, spec: DnsRfc2136 | DnsCommand, credentials: CredentialStore) -> DnsProvider:
    if isinstance(spec, DnsCommand):
        return CommandHook(config, spec)
    return Rfc2136(config, spec, credentials)
