"""`ucterm scan` in-process against the lab (on its own loop in a thread): outputs, exit codes, files."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest

from tests.scan.conftest import PUB, SUB3, ThreadLab
from ucterm import paths
from ucterm.cli import main
from ucterm.cli.scan import Progress
from ucterm.inventory import Inventory
from ucterm.scan import ScanProgress
from ucterm.scan.model import load_scan


def _scan(inv: Inventory, *args: str) -> list[str]:
    return ["scan", "--inventory", str(inv.path), *args]


@pytest.fixture
def no_discovery_gap(thread_lab: ThreadLab) -> Inventory:
    """Every node of the lab in the inventory, so the verdict depends on certificates alone."""
    return thread_lab.complete


@pytest.fixture
def gaps(thread_lab: ThreadLab) -> Inventory:
    """The inventory that leaves sub3 (found by discovery) out."""
    return thread_lab.inventory


def test_json_is_pure_and_files_are_written(
    gaps: Inventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prom = tmp_path / "textfile" / "ucterm.prom"
    prom.parent.mkdir()
    code = main(_scan(gaps, "--json", "--prometheus", str(prom)))
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 3  # sub3 is in the cluster but not in the inventory
    assert {n["node"] for n in doc["nodes"]} >= {PUB, SUB3}
    assert {c["source"] for c in doc["certificates"]} == {"cli", "rest"}
    assert SUB3 in err and "Traceback" not in err
    assert prom.exists() and stat.S_IMODE(prom.stat().st_mode) == 0o644
    assert "ucterm_certificate_not_after_seconds{" in prom.read_text()
    kept = load_scan(paths.last_scan_file())
    assert kept is not None and len(kept.certificates) == len(doc["certificates"])
    assert all(c.pem and "BEGIN CERTIFICATE" in c.pem for c in kept.certificates)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [((), 1), (("--warn-days", "30", "--crit-days", "10"), 0), (("--warn-days", "60", "--crit-days", "50"), 2)],
)
def test_exit_codes(
    no_discovery_gap: Inventory,
    capsys: pytest.CaptureFixture[str],
    flags: tuple[str, ...],
    expected: int,
) -> None:
    assert main(_scan(no_discovery_gap, "--json", *flags)) == expected, capsys.readouterr().err
    capsys.readouterr()


def test_csv_and_table(no_discovery_gap: Inventory, capsys: pytest.CaptureFixture[str]) -> None:
    main(_scan(no_discovery_gap, "--csv"))
    out, _ = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["cluster"] for r in rows} == {c.name for c in no_discovery_gap.clusters}
    main(_scan(no_discovery_gap))
    out, _ = capsys.readouterr()
    assert "\x1b[" not in out  # not a terminal: no colour
    hq_nodes = len(no_discovery_gap.cluster("hq").nodes)
    assert "WARNING" in out and f"all {hq_nodes} nodes" in out and "tomcat-trust" in out
    assert "cluster overrides" in out and "branch 400/30" in out


def test_cluster_scan_updates_the_kept_scan(
    no_discovery_gap: Inventory, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = no_discovery_gap
    main(_scan(inventory, "--json"))
    first = load_scan(paths.last_scan_file())
    main(_scan(inventory, "--json", "--cluster", "branch"))
    doc = json.loads(capsys.readouterr().out.split("\n}\n", 1)[1])
    assert {n["cluster"] for n in doc["nodes"]} == {"branch"}
    kept = load_scan(paths.last_scan_file())
    assert first is not None and kept is not None
    assert {n.cluster for n in kept.nodes} == {c.name for c in inventory.clusters}
    assert len(kept.certificates) == len(first.certificates)
    assert kept.thresholds_for("branch") == (400, 30)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--warn-days", "10", "--crit-days", "20"), "larger than the warning"),
        (("--warn-days", "-1"), "--warn-days is -1"),
        (("--cluster", "nope"), 'no cluster "nope"'),
    ],
)
def test_bad_options_are_one_sentence(
    gaps: Inventory, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], words: str
) -> None:
    assert main(_scan(gaps, *flags)) == 3
    out, err = capsys.readouterr()
    assert out == "" and words in err and len(err.strip().splitlines()) == 1


def test_progress_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, {"hq": 3, "br": 1})
    progress(ScanProgress("hq", "pub.hq.example.com", 0, 3, "connecting"))
    progress(ScanProgress("br", "cuc.br.example.com", 1, 1, "done"))
    progress.clear()
    text = stream.getvalue()
    assert "scanning 0/4 nodes · pub: connecting" in text and "scanning 1/4 nodes" in text
    assert text.endswith("\r\x1b[K")


def test_unwritable_prometheus_file_is_one_sentence_after_the_output(
    no_discovery_gap: Inventory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-folder" / "sub" / "ucterm.prom"
    (tmp_path / "missing-folder").write_text("a file where a folder should be")
    assert main(_scan(no_discovery_gap, "--json", "--prometheus", str(target))) == 3
    out, err = capsys.readouterr()
    assert json.loads(out)["certificates"]
    assert "Prometheus file" in err and str(target) in err and len(err.strip().splitlines()) == 1
