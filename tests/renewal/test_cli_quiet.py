"""`ucterm renew --quiet`: the summary, nothing while it runs; the transcript stays in the job folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ucterm.renewal import Journal

from .test_cli_lab import ucterm

if TYPE_CHECKING:
    from .conftest import LabRig


async def test_quiet_prints_the_summary_only(lab: LabRig) -> None:
    loud = await ucterm(lab, "renew", "--cluster", "voicemail", "--unit", "tomcat", "--node", "cuc15-pub",
                        "--lab-ca", "--yes")
    assert loud.code == 0, loud.stderr
    assert "[1/" in loud.stderr and " > " in loud.stderr  # steps and the transcript, as before

    r = await ucterm(lab, "renew", "--cluster", "branch", "--unit", "tomcat", "--node", "cucm125-pub", "--lab-ca",
                     "--yes", "--quiet")
    assert r.code == 0, r.stderr
    assert r.stderr == "", r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("job ") and ": done" in first, r.stdout
    job = Journal.open(first.split()[1].rstrip(":"))
    transcripts = list((job.folder / "transcripts").glob("*.log"))
    assert transcripts and any("set cert import own tomcat" in t.read_text() for t in transcripts)
