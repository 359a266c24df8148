"""Key material for the lab, fast enough for a demo that starts in well under three seconds.

An RSA-2048 key costs about 50 ms to generate here and a demo estate holds about fifty of them,
so generated RSA keys are kept in a cache file (user cache dir, or `UCTERM_LAB_CACHE`) and handed
out in a fixed order: after the first run an estate loads its keys instead of generating them.
The keys are lab keys that protect nothing, which is what makes caching them acceptable; the
cache file is still written owner-only. EC keys cost microseconds and are always generated.

The cache is shared by every process of the user (pytest, a `ucterm lab` in another terminal,
`ucterm demo`), so it is written to be safe under concurrency and to survive damage:
- a save replaces the file atomically (a private temporary file, then `os.replace`), so a reader
  sees the old file or the new one, never half of one;
- a save merges with what is on disk at that moment (under an advisory lock where the platform
  has `fcntl`), so two processes saving at once do not throw away each other's keys;
- a load keeps only well-formed keys that pass a cheap consistency check of their numbers and
  drops duplicates; whatever is missing (a truncated or corrupt file, no file) is generated again.

:class:`KeyPool` is the process-wide cache; :class:`KeySource` is one estate's view of it. Within
an estate every key handed out is distinct, so a certificate issued for one node's CSR can never
match another node's key, and a new CSR always gets a key that no certificate of the estate uses.
A very large estate (the scan benchmark) may let identity keys repeat (`recycle`), which only
means two nodes share a key, as nodes sharing a multi-server certificate do anyway.

Both classes are thread-safe: the async faces of a node generate CSR keys in a worker thread
(:meth:`ucterm.lab.node.LabNode.new_csr_key`) so that an RSA-4096 key does not stall every other
node of the estate, which shares the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import platformdirs
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyAlgorithm = Literal["RSA", "EC"]

#: Keys kept per RSA size in the cache file (about 1.7 kB each).
CACHE_LIMIT = 1024

_CURVES: dict[int, ec.EllipticCurve] = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}
_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----\s*", re.S)


def cache_dir() -> Path:
    """Where generated RSA keys are kept between runs: `UCTERM_LAB_CACHE`, else `<user cache>/ucterm/lab`.

    Deliberately not under `UCTERM_HOME` (which tests and rehearsals point at a fresh folder):
    the keys are worthless, and sharing them is what keeps every new estate fast.
    """
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


def _consistent(key: rsa.RSAPrivateKey) -> bool:
    """True if the key's numbers fit together (n = pq, d inverts e, CRT values match).

    Cached keys are loaded without OpenSSL's validation (a primality test costing ~40 ms a key),
    so a damaged but still parseable file would otherwise hand out a key that signs garbage.
    These identities cost microseconds and catch any changed number.
    """
    numbers = key.private_numbers()
    p, q, d = numbers.p, numbers.q, numbers.d
    e, n = numbers.public_numbers.e, numbers.public_numbers.n
    return (p * q == n and (d * e) % (p - 1) == 1 and (d * e) % (q - 1) == 1
            and numbers.dmp1 == d % (p - 1) and numbers.dmq1 == d % (q - 1) and (numbers.iqmp * q) % p == 1)


def parse_cache(data: bytes, bits: int) -> list[rsa.RSAPrivateKey]:
    """The sound, distinct RSA keys of size `bits` in a cache file's bytes; anything else is skipped."""
    keys: list[rsa.RSAPrivateKey] = []
    seen: set[int] = set()
    for block in _PEM_BLOCK.findall(data):
        try:
            # The cache holds keys this module generated: skipping the (slow, ~40 ms) RSA
            # consistency check is what makes loading cheap; _consistent() does the cheap part.
            key = serialization.load_pem_private_key(block, None, unsafe_skip_rsa_key_validation=True)
        except (ValueError, TypeError):
            continue
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != bits:
            continue
        modulus = key.public_key().public_numbers().n
        if modulus in seen or not _consistent(key):
            continue  # a duplicate would break "every key handed out is distinct"
        seen.add(modulus)
        keys.append(key)
    return keys


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically and owner-only.

    The temporary file gets a unique name (mkstemp), so concurrent writers, whether other
    processes or other pools of this one, never write into each other's temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _cache_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on the cache folder while a save reads, merges and replaces.

    Without `fcntl` (Windows) saves are not serialised: two processes saving at the same moment
    may then keep only one side's new keys, which costs a regeneration later, never a bad file.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class KeyPool:
    """RSA keys by size, loaded from and saved to the cache file, generated when missing.

    The in-memory list of each size only grows (indices handed out stay valid); keys are
    generated outside the lock, so a thread making an RSA-4096 key does not hold up others.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else cache_dir()
        self._keys: dict[int, list[rsa.RSAPrivateKey]] = {}
        #: Per size, how many of the first keys in memory are known to be in the file.
        self._saved: dict[int, int] = {}
        self._lock = threading.Lock()

    def _file(self, bits: int) -> Path:
        return self.directory / f"rsa-{bits}.pem"

    def _loaded(self, bits: int) -> list[rsa.RSAPrivateKey]:
        """The keys of this size, read from the cache on first use (call with the lock held)."""
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
        return parse_cache(data, bits)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._keys.values())

    def ensure(self, count: int, bits: int = 2048) -> None:
        """Make sure at least `count` keys of this size exist (generating the missing ones)."""
        with self._lock:
            missing = count - len(self._loaded(bits))
        if missing <= 0:
            return
        fresh = [new_rsa_key(bits) for _ in range(missing)]
        with self._lock:
            # Another thread may have added keys meanwhile: keep ours too (they are cached for later).
            self._keys[bits].extend(fresh)

    def rsa(self, index: int, bits: int = 2048) -> rsa.RSAPrivateKey:
        """The `index`-th cached key of this size (generated and cached if it does not exist yet)."""
        self.ensure(index + 1, bits)
        with self._lock:
            return self._keys[bits][index]

    def save(self) -> None:
        """Write newly generated keys to the cache (best effort: a read-only cache dir is fine).

        The file is re-read under the lock and this pool's new keys are added to what is there,
        so keys another process saved in the meantime are kept.
        """
        with self._lock:
            pending = {bits: list(keys) for bits, keys in self._keys.items()
                       if len(keys) > self._saved.get(bits, 0) and self._saved.get(bits, 0) < CACHE_LIMIT}
        if not pending:
            return
        try:
            with _cache_lock(self.directory):
                for bits, keys in pending.items():
                    on_disk = self._read(bits)
                    known = {k.public_key().public_numbers().n for k in on_disk}
                    merged = on_disk + [k for k in keys if k.public_key().public_numbers().n not in known]
                    if len(merged) > len(on_disk) and len(on_disk) < CACHE_LIMIT:
                        _replace_file(self._file(bits), b"".join(_pem(k) for k in merged[:CACHE_LIMIT]))
                    with self._lock:
                        self._saved[bits] = max(self._saved.get(bits, 0), min(len(keys), CACHE_LIMIT))
        except OSError:
            return


@functools.cache
def default_pool() -> KeyPool:
    """The process-wide key cache (one per process: estates in the same process share loaded keys)."""
    return KeyPool()


class KeySource:
    """One estate's supply of keys: every key handed out is distinct within the estate.

    `recycle=N` lets identity keys cycle over the first N pool keys (for estates of hundreds of
    nodes); keys for CSRs (:meth:`fresh`) are never recycled. Indices are taken under a lock, so
    threads (CSR keys made off the event loop) never get the same key.
    """

    def __init__(self, pool: KeyPool | None = None, *, recycle: int | None = None) -> None:
        self.pool = pool if pool is not None else default_pool()
        self._recycle = recycle
        self._next: dict[int, int] = {}
        self._identity_count = 0
        self._lock = threading.Lock()

    def _take(self, bits: int) -> rsa.RSAPrivateKey:
        start = (self._recycle or 0) if bits == 2048 else 0
        with self._lock:
            index = self._next.get(bits, start)
            self._next[bits] = index + 1
        return self.pool.rsa(index, bits)

    def identity(self, algorithm: KeyAlgorithm = "RSA", bits: int | None = None) -> PrivateKey:
        """A key for a certificate the estate starts with (or for a lab CA)."""
        if algorithm == "EC":
            return new_ec_key(bits or 256)
        bits = bits or 2048
        if self._recycle and bits == 2048:
            with self._lock:
                index = self._identity_count % self._recycle
                self._identity_count += 1
            return self.pool.rsa(index, bits)
        return self._take(bits)

    def fresh(self, algorithm: KeyAlgorithm = "RSA", bits: int | None = None) -> PrivateKey:
        """A key never handed out before in this estate (new CSRs, regenerated certificates)."""
        if algorithm == "EC":
            return new_ec_key(bits or 256)
        return self._take(bits or 2048)

    def reserve(self, count: int) -> None:
        """Pre-generate `count` fresh RSA-2048 keys now, so that CSRs later do not stall the event loop."""
        with self._lock:
            start = self._next.get(2048, self._recycle or 0)
        self.pool.ensure(start + count, 2048)
