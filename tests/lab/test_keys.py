"""The RSA key cache: shared by concurrent processes, never corrupted by them, and tolerant of damage.

1024-bit keys throughout: they take milliseconds to generate and the cache treats every size alike.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ucterm.lab import keys
from ucterm.lab.keys import KeyPool, KeySource

BITS = 1024


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def modulus(key: rsa.RSAPrivateKey) -> int:
    return key.public_key().public_numbers().n


def cache_file(directory: Path) -> Path:
    return directory / f"rsa-{BITS}.pem"


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UCTERM_LAB_CACHE", str(tmp_path / "keys"))
    assert keys.cache_dir() == tmp_path / "keys"
    monkeypatch.delenv("UCTERM_LAB_CACHE")
    assert keys.cache_dir().parts[-2:] == ("ucterm", "lab")


def test_a_damaged_cache_is_tolerated_and_repaired(tmp_path: Path) -> None:
    good, damaged, cut = (keys.new_rsa_key(BITS) for _ in range(3))
    numbers = damaged.private_numbers()
    # Parseable but wrong: one number changed, as a flipped bit in the file would do.
    wrong = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d + 2, numbers.dmp1, numbers.dmq1, numbers.iqmp,
                                  numbers.public_numbers).private_key(unsafe_skip_rsa_key_validation=True)
    cut_pem = pem(cut)
    cache_file(tmp_path).write_bytes(
        pem(good) + pem(good)  # a duplicate would hand the same key out twice
        + pem(wrong)
        + b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
        + pem(keys.new_rsa_key(BITS + 1024))  # another size
        + cut_pem[: len(cut_pem) // 2])  # a write that stopped half-way
    pool = KeyPool(tmp_path)
    assert [modulus(pool.rsa(0, BITS))] == [modulus(good)] and len(pool) == 1
    third = pool.rsa(2, BITS)  # the missing keys are generated again ...
    pool.save()
    reread = keys.parse_cache(cache_file(tmp_path).read_bytes(), BITS)
    assert [modulus(k) for k in reread] == [modulus(pool.rsa(i, BITS)) for i in range(3)]
    assert modulus(third) in {modulus(k) for k in reread}
    assert cache_file(tmp_path).read_bytes().count(b"BEGIN PRIVATE KEY") == 3  # ... and the junk is gone
    assert cache_file(tmp_path).stat().st_mode & 0o077 == 0


def test_saves_merge_with_what_another_pool_saved(tmp_path: Path) -> None:
    first, second = KeyPool(tmp_path), KeyPool(tmp_path)
    a = [first.rsa(i, BITS) for i in range(2)]
    b = [second.rsa(i, BITS) for i in range(3)]  # both started from an empty cache: different keys
    first.save()
    second.save()
    on_disk = {modulus(k) for k in keys.parse_cache(cache_file(tmp_path).read_bytes(), BITS)}
    assert on_disk == {modulus(k) for k in a + b}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_threads_never_get_the_same_key(tmp_path: Path) -> None:
    source = KeySource(KeyPool(tmp_path))
    taken: list[rsa.RSAPrivateKey] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(3):
            key = source.fresh("RSA", BITS)
            assert isinstance(key, rsa.RSAPrivateKey)
            with lock:
                taken.append(key)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({modulus(k) for k in taken}) == 12


_WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ucterm.lab.keys import KeyPool
    pool = KeyPool(Path(sys.argv[1]))
    for index in range(4):
        key = pool.rsa(index, int(sys.argv[2]))
        pool.save()
        print(hex(key.public_key().public_numbers().n), flush=True)
""")


def test_concurrent_processes_never_corrupt_the_cache(tmp_path: Path) -> None:
    """pytest and a `ucterm lab` in another terminal share the cache: every read sees a whole file."""
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path), str(BITS)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    reads = seen = 0
    while any(w.poll() is None for w in workers):
        try:
            data = cache_file(tmp_path).read_bytes()
        except FileNotFoundError:
            continue
        reads += 1
        blocks = data.count(b"-----BEGIN PRIVATE KEY-----")
        assert len(keys.parse_cache(data, BITS)) == blocks == data.count(b"-----END PRIVATE KEY-----")
        assert blocks >= seen, "the cache shrank: a save dropped keys, or a reader saw a file being rewritten"
        seen = blocks
    handed_out = set()
    for worker in workers:
        out, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0
        handed_out |= {int(line, 16) for line in out.split()}
    final = {modulus(k) for k in keys.parse_cache(cache_file(tmp_path).read_bytes(), BITS)}
    if sys.platform != "win32":  # with fcntl, saves are serialised: nobody's keys are lost
        assert handed_out <= final
    assert reads > 0
