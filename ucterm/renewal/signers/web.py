"""HTTPS to a CA for the signers: verified TLS with the signer's own `ca_bundle`, and one sentence per failure.

Verification is always on. With `ca_bundle` only that bundle is trusted (an enterprise CA's web
server is signed by the enterprise root, which the system store does not hold); without it the
platform's default CAs apply (OpenSSL's default paths). httpx is told not to read the environment
(`trust_env=False`): a proxy variable set for other programs must not decide where a CSR and a
password go, and neither must a CA bundle variable meant for another tool.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from ucterm.renewal.signers.base import SignerError
from ucterm.signer_config import SignerConfig


def tls_context(config: SignerConfig) -> ssl.SSLContext:
    """Verify the CA's certificate and host name against `ca_bundle` (or the system's CAs)."""
    if config.ca_bundle is not None:
        try:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(config.ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise SignerError(f'signer "{config.name}": its ca_bundle {config.ca_bundle} cannot be read '
                              f"({exc.strerror if isinstance(exc, OSError) else exc}); fix the path in the "
                              "inventory.") from None
    else:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    return ctx


def client(config: SignerConfig, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client for this signer: its TLS context, its timeout, no environment."""
    return httpx.AsyncClient(verify=tls_context(config), timeout=httpx.Timeout(config.timeout),
                             trust_env=False, follow_redirects=False, **kwargs)


def failure(config: SignerConfig, url: str, exc: Exception) -> SignerError:
    """What went wrong talking to the CA, as one sentence naming the signer and what to do."""
    where = f'signer "{config.name}" ({url})'
    cause = exc.__context__ if isinstance(exc, httpx.ConnectError) else exc
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        detail = getattr(cause, "verify_message", "") or str(exc)
        return SignerError(f"{where}: the CA's HTTPS certificate does not verify ({detail}); set ca_bundle in "
                           "its [[signer]] table to the CA certificate that signs the web server.")
    if isinstance(exc, httpx.TimeoutException):
        return SignerError(f"{where} did not answer within {config.timeout:g} s; check that it is up, or raise "
                           "timeout in its [[signer]] table.")
    if isinstance(exc, httpx.ConnectError | OSError):
        return SignerError(f"{where} cannot be reached ({exc or type(exc).__name__}); check url and the network.")
    return SignerError(f"{where}: {type(exc).__name__}: {exc}; retry, or check the CA.")


def status_failure(config: SignerConfig, response: httpx.Response, what: str) -> SignerError:
    """An unexpected HTTP status, with a bounded piece of the answer (never the request)."""
    text = " ".join(response.text.split())[:300] if response.content else ""
    return SignerError(f'signer "{config.name}": {what} answered HTTP {response.status_code}'
                       + (f" ({text})" if text else "") + "; check the signer's settings and the CA.")
