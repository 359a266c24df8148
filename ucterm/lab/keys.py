"""Key material for the lab, fast enough for a demo that starts in well under three seconds.

An RSA-2048 key costs about 50 ms to generate here and a demo estate holds about fifty of them,
so generated RSA keys are kept in a cache file (user cache dir, or `UCTERM_LAB_CACHE`) and handed
out in a fixed order: after the first run an estate loads its keys instead of generating them.
The keys are lab keys that protect nothing, which is what makes caching them acceptable; the
cache file is still written owner-only. EC keys cost microseconds and are always generated.

:class:`KeyPool` is the process-wide cache; :class:`KeySource` is one estate's view of it. Within
an estate every key handed out is distinct, so a certificate issued for one node's CSR can never
match another node's key, and a new CSR always gets a key that no certificate of the estate uses.
A very large estate (the scan benchmark) may let identity keys repeat (`recycle`), which only
means two nodes share a key, as nodes sharing a multi-server certificate do anyway.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Literal

import platformdirs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ucterm.inventory import atomic_write

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyAlgorithm = Literal["RSA", "EC"]

#: Keys kept per RSA size in the cache file (about 1.7 kB each).
CACHE_LIMIT = 1024

_CURVES: dict[int, ec.EllipticCurve] = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}
_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----\s*", re.S)


def cache_dir() -> Path:
    """Where generated RSA keys are kept between runs."""
    override = os.environ.get("UCTERM_LAB_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("ucterm")) / "lab"


def new_ec_key(bits: int = 256) -> ec.EllipticCurvePrivateKey:
    try:
        curve = _CURVES[bits]
    except KeyError:
        raise ValueError(f"unsupported EC key size {bits}; use 256, 384 or 521") from None
    return ec.generate_private_key(curve)


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


class KeyPool:
    """RSA keys by size, loaded from and saved to the cache file, generated when missing."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else cache_dir()
        self._keys: dict[int, list[rsa.RSAPrivateKey]] = {}
        self._saved: dict[int, int] = {}

    def _file(self, bits: int) -> Path:
        return self.directory / f"rsa-{bits}.pem"

    def _loaded(self, bits: int) -> list[rsa.RSAPrivateKey]:
        keys = self._keys.get(bits)
        if keys is None:
            keys = self._read(bits)
            self._keys[bits] = keys
            self._saved[bits] = len(keys)
        return keys

    def _read(self, bits: int) -> list[rsa.RSAPrivateKey]:
        try:
            data = self._file(bits).read_bytes()
        except OSError:
            return []
        keys: list[rsa.RSAPrivateKey] = []
        for block in _PEM_BLOCK.findall(data):
            try:
                # The cache holds keys this module generated: skipping the (slow, ~40 ms) RSA
                # consistency check is what makes loading cheap.
                key = serialization.load_pem_private_key(block, None, unsafe_skip_rsa_key_validation=True)
            except ValueError:
                continue
            if isinstance(key, rsa.RSAPrivateKey) and key.key_size == bits:
                keys.append(key)
        return keys

    def __len__(self) -> int:
        return sum(len(v) for v in self._keys.values())

    def ensure(self, count: int, bits: int = 2048) -> None:
        """Make sure at least `count` keys of this size exist (generating the missing ones)."""
        keys = self._loaded(bits)
        while len(keys) < count:
            keys.append(new_rsa_key(bits))

    def rsa(self, index: int, bits: int = 2048) -> rsa.RSAPrivateKey:
        """The `index`-th cached key of this size (generated and cached if it does not exist yet)."""
        self.ensure(index + 1, bits)
        return self._keys[bits][index]

    def save(self) -> None:
        """Write newly generated keys to the cache (best effort: a read-only cache dir is fine)."""
        for bits, keys in self._keys.items():
            if len(keys) <= self._saved.get(bits, 0) or self._saved.get(bits, 0) >= CACHE_LIMIT:
                continue
            data = b"".join(
                k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
                for k in keys[:CACHE_LIMIT])
            try:
                atomic_write(self._file(bits), data, mode=0o600)
            except OSError:
                continue
            self._saved[bits] = min(len(keys), CACHE_LIMIT)


@functools.cache
def default_pool() -> KeyPool:
    """The process-wide key cache (one per process: estates in the same process share loaded keys)."""
    return KeyPool()


class KeySource:
    """One estate's supply of keys: every key handed out is distinct within the estate.

    `recycle=N` lets identity keys cycle over the first N pool keys (for estates of hundreds of
    nodes); keys for CSRs (:meth:`fresh`) are never recycled.
    """

    def __init__(self, pool: KeyPool | None = None, *, recycle: int | None = None) -> None:
        self.pool = pool if pool is not None else default_pool()
        self._recycle = recycle
        self._next: dict[int, int] = {}
        self._identity_count = 0

    def _take(self, bits: int) -> rsa.RSAPrivateKey:
        start = (self._recycle or 0) if bits == 2048 else 0
        index = self._next.get(bits, start)
        self._next[bits] = index + 1
        return self.pool.rsa(index, bits)

    def identity(self, algorithm: KeyAlgorithm = "RSA", bits: int | None = None) -> PrivateKey:
        """A key for a certificate the estate starts with (or for a lab CA)."""
        if algorithm == "EC":
            return new_ec_key(bits or 256)
        bits = bits or 2048
        if self._recycle and bits == 2048:
            key = self.pool.rsa(self._identity_count % self._recycle, bits)
            self._identity_count += 1
            return key
        return self._take(bits)

    def fresh(self, algorithm: KeyAlgorithm = "RSA", bits: int | None = None) -> PrivateKey:
        """A key never handed out before in this estate (new CSRs, regenerated certificates)."""
        if algorithm == "EC":
            return new_ec_key(bits or 256)
        return self._take(bits or 2048)

    def reserve(self, count: int) -> None:
        """Pre-generate `count` fresh RSA-2048 keys now, so that CSRs later do not stall the event loop."""
        start = self._next.get(2048, self._recycle or 0)
        self.pool.ensure(start + count, 2048)
