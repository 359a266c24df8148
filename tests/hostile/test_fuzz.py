"""Fuzz: the inventory loader, the journal reader and the PEM file loader, fed random and mangled
input, answer with a result or a UctermError (a sentence and an exit code), never another exception.

Mangling starts from valid documents (cut, spliced, junk inserted, values swapped for odd TOML or
JSON), because random bytes alone rarely get past the first parser and the interesting failures
are one step further, in the code that trusts what parsed.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ucterm import pki
from ucterm.errors import UctermError
from ucterm.inventory import load_inventory, parse_inventory
from ucterm.renewal.journal import Journal, list_jobs
from ucterm.renewal.model import PlanOptions
from ucterm.renewal.plan import build_plan

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

INVENTORY = """\
[defaults]
os_user = "admin"
os_password = "env:FUZZ_PASSWORD"
app_user = "axladmin"
warn_days = 60
crit_days = 14
command_timeout = 30
transport = "auto"

[[cluster]]
name = "hq"
product = "cucm"
version = "14.0.1.13900-155"
crit_days = 7

[[cluster.node]]
fqdn = "cucm-pub.hq.example.com"
address = "127.0.0.1"
role = "publisher"
ports = { ssh = 2222, https = 8443 }

[[cluster.node]]
fqdn = "cucm-sub1.hq.example.com"
role = "subscriber"

[[cluster]]
name = "presence"
product = "imp"
presence_domains = ["example.com"]
cucm_cluster = "hq"

[[cluster.node]]
fqdn = "imp-pub.hq.example.com"
role = "publisher"
"""

#: TOML fragments that parse but are odd where a value is expected.
ODD_TOML = ["nan", "inf", "-inf", "1e999", "-1", "0", "true", '""', '"env:"', '"keyring:"', "[]", "{}",
            "[[[[[[]]]]]]", "[" * 300 + "]" * 300, '"' + "x" * 5000 + '"', '"\\u001b]52;c;x\\u0007"', "1979-05-27",
            '{ ssh = "22" }', '{ ssh = -1 }', '{ ssh = 99999999 }', '["a", 1]']
JUNK = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


def assert_sentence(exc: UctermError) -> None:
    text = str(exc)
    assert text.strip(), type(exc)
    assert "Traceback" not in text
    assert isinstance(exc.exit_code, int) and 1 <= exc.exit_code <= 4


def _mangle(text: str, data: st.DataObject) -> str:
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["cut", "insert", "value", "duplicate", "swap"]))
        lines = text.split("\n")
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        if kind == "cut":
            a = data.draw(st.integers(0, len(text)))
            b = data.draw(st.integers(a, min(len(text), a + 80)))
            text = text[:a] + text[b:]
            continue
        if kind == "insert":
            lines.insert(i, data.draw(JUNK))
        elif kind == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {data.draw(st.sampled_from(ODD_TOML))}"
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap" and len(lines) > 1:
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        text = "\n".join(lines)
    return text


@SETTINGS
@given(st.data())
def test_inventory_text_mangled(data: st.DataObject) -> None:
    text = _mangle(INVENTORY, data)
    try:
        parse_inventory(text, path=Path("/fuzz/inventory.toml"), owner_only=True)
    except UctermError as exc:
        assert_sentence(exc)


@SETTINGS
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_inventory_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "inventory.toml"
    path.write_bytes(raw)
    path.chmod(0o600)
    try:
        load_inventory(path)
    except UctermError as exc:
        assert_sentence(exc)


# ------------------------------------------------------------------------------------------------
# The journal

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
RECORDS = st.fixed_dictionaries(
    {"type": st.sampled_from(["step", "intent", "done", "fact", "job", "event", "other"])},
    optional={name: JSON_VALUES | st.sampled_from(["pending", "done", "running", "waiting", "generate_csr:x"])
              for name in ("step", "state", "key", "action", "data", "detail", "ts", "value")})
LINES = st.one_of(
    RECORDS.map(lambda r: json.dumps(r).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60).filter(lambda b: b"\n" not in b),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
)


def _template(tmp_path: Path) -> Path:
    """A sound job folder to damage (created once per test, copied per example)."""
    folder = tmp_path / "template"
    if not folder.exists():
        inventory = parse_inventory(INVENTORY, path=tmp_path / "inventory.toml")
        job = Journal.create(build_plan(inventory, None, PlanOptions("hq", "tomcat", multi_server=True)), None)
        job.set_step(job.plan.steps[0].id, "done", "ok")
        shutil.copytree(job.folder, folder)
        shutil.rmtree(job.folder)
    return folder


_FOLDERS = itertools.count()


def _copy(template: Path) -> Path:
    folder = Journal.root() / f"fuzz-{next(_FOLDERS)}"
    shutil.copytree(template, folder)
    meta = json.loads((folder / "job.json").read_text())
    meta["id"] = folder.name
    (folder / "job.json").write_text(json.dumps(meta))
    return folder


def _read_everything(job_id: str) -> None:
    try:
        job = Journal.open(job_id)
        job.summary().to_json()
    except UctermError as exc:
        assert_sentence(exc)
    listed = {j.job: j for j in list_jobs()}
    assert job_id in listed  # a damaged job is listed, not skipped
    json.dumps([j.to_json() for j in listed.values()])


@SETTINGS
@given(lines=st.lists(LINES, min_size=1, max_size=5), torn=st.booleans())
def test_journal_log_lines(tmp_path: Path, lines: list[bytes], torn: bool) -> None:
    folder = _copy(_template(tmp_path))
    try:
        with (folder / "log.jsonl").open("ab") as fh:
            fh.write(b"\n".join(lines) + (b"" if torn else b"\n"))
        _read_everything(folder.name)
    finally:
        shutil.rmtree(folder)


@SETTINGS
@given(data=st.data())
def test_journal_job_json(tmp_path: Path, data: st.DataObject) -> None:
    folder = _copy(_template(tmp_path))
    try:
        _damage_job_json(folder, data)
        _read_everything(folder.name)
    finally:
        shutil.rmtree(folder)


def _damage_job_json(folder: Path, data: st.DataObject) -> None:
    meta: Any = json.loads((folder / "job.json").read_text())
    how = data.draw(st.sampled_from(["value", "drop", "bytes", "text"]))
    if how == "bytes":
        (folder / "job.json").write_bytes(data.draw(st.binary(max_size=200)))
    else:
        if how in ("value", "drop"):
            # Replace or drop one field somewhere in the document (a step, the plan, the top).
            target = data.draw(st.sampled_from(["top", "plan", "step", "options"]))
            where = {"top": meta, "plan": meta["plan"], "step": meta["plan"]["steps"][0],
                     "options": meta["plan"]["options"]}[target]
            key = data.draw(st.sampled_from(sorted(where)))
            if how == "drop":
                del where[key]
            else:
                where[key] = data.draw(JSON_VALUES)
            text = json.dumps(meta)
        else:
            text = _mangle(json.dumps(meta, indent=1), data)
        (folder / "job.json").write_text(text)


# ------------------------------------------------------------------------------------------------
# PEM and other certificate files (load_bundle itself: tests/pki/test_pki_property.py)

PEM = ("-----BEGIN CERTIFICATE-----\nMIIBJzCBzqADAgECAgEBMAoGCCqGSM49BAMCMBkxFzAVBgNVBAMMDkhvc3RpbGUg\n"
       "-----END CERTIFICATE-----\n")


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode), st.booleans())
def test_pem_files_and_folders(tmp_path: Path, raw: bytes, as_folder: bool) -> None:
    path = tmp_path / "in" / "cert.pem"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(PEM.encode()[: len(raw) % len(PEM)] + raw)
    try:
        for bundle in pki.load_paths([path.parent if as_folder else path]):
            bundle.describe_problems()
    except UctermError as exc:
        assert_sentence(exc)
    try:
        pki.load_csr_pem(raw.decode("latin-1"))
    except UctermError as exc:
        assert_sentence(exc)
