"""No dead ends (issue 14) in the TUI, driven with Pilot against the embedded lab: the CA dialog with
a wrong file, a corrected chain for a refused certificate, the resume key, retry and skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from textual.pilot import Pilot

from ucterm import pki
from ucterm.tui.app import UctermApp
from ucterm.tui.launch import DemoStartup
from ucterm.tui.screens.run import RunScreen
from ucterm.tui.screens.signed import SignedCertScreen

from .test_lab import events, scanned, start_renewal, until_state, wait_for

pytestmark = pytest.mark.timeout(120)


def findings_text(dialog: SignedCertScreen) -> str:
    content: Any = dialog.query_one("#findings").content  # type: ignore[attr-defined]
    return str(getattr(content, "plain", content))


def other_key_certificate(ca: Any, csr_pem: str, extra: str) -> str:
    """Issued from another CSR with the same subject and one name more (the wrong file from the CA)."""
    real = pki.load_csr_pem(csr_pem)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [x509.DNSName(n) for n in sorted(pki.sans_of(real))] + [x509.DNSName(extra)]
    other = (x509.CertificateSigningRequestBuilder().subject_name(real.subject)
             .add_extension(x509.SubjectAlternativeName(names), critical=False).sign(key, hashes.SHA256()))
    return str(ca.sign(pki.pem(other))[0])


async def waiting_dialog(pilot: Pilot[Any], app: UctermApp) -> tuple[RunScreen, SignedCertScreen]:
    await scanned(pilot, app)
    run = await start_renewal(pilot, app, "callmanager branch cucm125-pub", signer="files")
    await until_state(pilot, run, "waiting")
    await pilot.press("c")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, SignedCertScreen)
    return run, dialog


async def test_the_ca_dialog_names_a_wrong_file_and_keeps_the_right_one(tmp_path: Path) -> None:
    startup = DemoStartup("fast")
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40)) as pilot:
        run, dialog = await waiting_dialog(pilot, app)
        ca = startup.estate.ca
        wrong = tmp_path / "wrong.cer"
        wrong.write_text(other_key_certificate(ca, dialog.csr_pem, "www.lab.example"))
        leaf, chain = ca.sign(dialog.csr_pem)
        right = tmp_path / "right.cer"
        right.write_text(leaf + "".join(chain))

        dialog.query_one("#signed-paths").value = str(wrong)  # type: ignore[attr-defined]
        await pilot.pause()
        text = findings_text(dialog)
        assert not dialog.ok and "wrong.cer" in text and "matches no CSR of this job" in text
        assert text.index("[key-mismatch]") < text.index("[san-mismatch]")

        # Both filled: the path names the wrong file, the paste area holds the right certificate.
        dialog.query_one("#signed-pem").text = leaf + "".join(chain)  # type: ignore[attr-defined]
        await pilot.pause()
        text = findings_text(dialog)
        assert dialog.ok, text
        assert "wrong.cer" in text and "left out" in text and "from the pasted text" in text
        assert pki.sha256_hex(pki.load_bundle(leaf.encode(), "t").certificates[0]) in \
            {pki.sha256_hex(pki.load_bundle(p.encode(), "t").certificates[0]) for p in dialog.pems}
        assert all("www.lab.example" not in str(pki.sans_of(pki.load_bundle(p.encode(), "t").certificates[0]))
                   for p in dialog.pems)

        # And the other way round: the right file in the path, the wrong one pasted.
        dialog.query_one("#signed-paths").value = str(right)  # type: ignore[attr-defined]
        dialog.query_one("#signed-pem").text = wrong.read_text()  # type: ignore[attr-defined]
        await pilot.pause()
        assert dialog.ok and "from right.cer" in findings_text(dialog)
        await pilot.press("f4")
        await until_state(pilot, run, "done")


async def test_a_refused_chain_is_corrected_from_the_ca_dialog() -> None:
    """Validation refused the chain (the intermediate was missing): `c` opens the dialog on the refused
    step, the missing CA alone completes what the job holds, and the held run goes on."""
    startup = DemoStartup("fast")
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40)) as pilot:
        run, dialog = await waiting_dialog(pilot, app)
        leaf, (intermediate, root) = startup.estate.ca.sign(dialog.csr_pem, issuer="untrusted")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is run, what="the run screen")
        run.runner.provide_signed([leaf, root])  # as `ucterm resume JOB --signed leaf --chain root` does
        run.start()
        await until_state(pilot, run, "held", "failed")
        assert run.failed_step and run.failed_step.startswith("validate:")
        assert run.disabled_reason("signed") is None
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SignedCertScreen)
        dialog.query_one("#signed-pem").text = intermediate  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: dialog.ok, what=f"the completed chain to validate: {findings_text(dialog)}")
        await pilot.press("f4")
        await until_state(pilot, run, "done")
        assert run.job.steps["validate:cucm125-pub.lab.example"].state == "done"


async def test_declining_a_question_pauses_the_job_and_p_is_labelled_resume() -> None:
    from ucterm.tui.screens.modals import ConfirmModal

    app = UctermApp(startup=DemoStartup("fast"))
    async with app.run_test(size=(120, 40)) as pilot:
        await scanned(pilot, app)
        run = await start_renewal(pilot, app, "callmanager branch cucm125-pub", confirm_each=True)

        def asks_upload() -> bool:
            screen = app.screen
            return isinstance(screen, ConfirmModal) and "Upload" in str(screen._body)

        await wait_for(pilot, asks_upload, what="the upload question")
        await pilot.press("n")
        await wait_for(pilot, lambda: run.state == "paused", what="the job to pause")
        await pilot.pause()
        assert app.screen is run
        title = str(run.query_one("#title").render())
        assert "paused" in title and "FAILED" not in title and "aborted" not in title
        assert run.failed_step is None and run.job.summary().status == "paused"
        assert "you declined step" in run.job.detail and "changed nothing" in run.job.detail
        binding = app.screen.active_bindings["p"]
        assert binding.binding.description == "Resume" and binding.enabled
        await pilot.press("p")  # asks again
        await wait_for(pilot, asks_upload, what="the upload question, asked again")
        await until_state(pilot, run, "done")
        assert app.screen.active_bindings["p"].binding.description == "Resume"  # nothing runs: p would resume
        assert not app.screen.active_bindings["p"].enabled  # ... but the job is done


async def test_an_interrupted_job_reads_interrupted_in_the_jobs_screen_with_its_step(tmp_path: Path) -> None:
    from ucterm.renewal import Journal
    from ucterm.tui.screens.jobs import JobsScreen

    app = UctermApp(startup=DemoStartup("fast"))
    async with app.run_test(size=(120, 40)) as pilot:
        await scanned(pilot, app)
        session = app.session
        assert session is not None
        plan = session.build_plan(session.renewal_defaults("branch", "CallManager", False))
        job = Journal.create(plan, session.inventory_path)  # as a ucterm that was killed left it
        job.set_step(plan.steps[0].id, "done")
        job.set_step(plan.steps[1].id, "running")
        await pilot.press("J")
        await pilot.pause()
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        detail: Any = jobs.query_one("#jobs-detail").content  # type: ignore[attr-defined]
        text = str(getattr(detail, "plain", detail))
        assert "interrupted" in text and f"step 2: {plan.steps[1].name}" in text
        assert f"ucterm resume {job.id}" in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the job's screen")
        run = app.screen
        assert isinstance(run, RunScreen) and run.state == "interrupted"
        assert app.screen.active_bindings["p"].binding.description == "Resume"


async def test_a_stuck_job_is_abandoned_from_the_jobs_screen_after_a_question() -> None:
    """A: the TUI's way to give a job up (was `ucterm jobs --abandon` only); n at the question keeps it."""
    from ucterm.renewal import Journal
    from ucterm.tui.screens.jobs import JobsScreen
    from ucterm.tui.screens.modals import ConfirmModal

    app = UctermApp(startup=DemoStartup("fast"))
    async with app.run_test(size=(120, 40)) as pilot:
        await scanned(pilot, app)
        session = app.session
        assert session is not None
        plan = session.build_plan(session.renewal_defaults("branch", "CallManager", False))
        job = Journal.create(plan, session.inventory_path)
        job.set_step(plan.steps[0].id, "done")
        job.set_state("failed", "step 2 failed")
        await pilot.press("J")
        await pilot.pause()
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        assert jobs.active_bindings["A"].enabled
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question")
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is jobs and Journal.open(job.id).state == "failed"
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the question again")
        await pilot.press("y")
        await wait_for(pilot, lambda: Journal.open(job.id).state == "abandoned", what="the job to be abandoned")
        await pilot.pause()
        assert app.screen is jobs
        assert next(s for s in jobs.summaries if s.job == job.id).status == "abandoned"
        assert not jobs.active_bindings["A"].enabled  # nothing left to give up
        assert "nothing to give up" in (jobs.disabled_reason("abandon") or "")


async def test_retry_and_skip_from_the_run_screen() -> None:
    """A verify step that cannot see the node fails and the run holds: r runs it again (it fails again
    while the firewall is there, and passes once it is gone); on a second job s asks why and skips it."""
    from dataclasses import replace

    from ucterm.tui.screens.modals import TextModal

    startup = DemoStartup("fast")
    messages: list[Any] = []
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await scanned(pilot, app)
        session = app.session
        assert session is not None
        session.runner_settings = replace(session.runner_settings, verify_timeout=0.5)
        pub, sub = "cucm125-pub.lab.example", "cucm125-sub1.lab.example"
        for node in (pub, sub):
            await startup.estate.filter_port(node, "sip_tls")  # a firewall: verification sees nothing
        run = await start_renewal(pilot, app, "callmanager branch cucm125-pub")
        await until_state(pilot, run, "held", "failed")
        assert run.failed_step == f"verify:{pub}" and run.state == "held"
        assert app.screen.active_bindings["r"].enabled and app.screen.active_bindings["s"].enabled

        await pilot.press("r")  # the firewall is still there: the step runs again and fails again
        await wait_for(pilot, lambda: len(events(messages, "StepFailed")) >= 2, what="the second failure")
        await until_state(pilot, run, "held", "failed")
        await startup.estate.unfilter_port(pub, "sip_tls")
        await pilot.press("r")
        await until_state(pilot, run, "done")
        assert run.job.steps[f"verify:{pub}"].state == "done"

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, what="the main screen")
        await pilot.press("escape")  # clear the filter
        second = await start_renewal(pilot, app, "callmanager branch cucm125-sub1")
        await until_state(pilot, second, "held", "failed")
        assert second.failed_step == f"verify:{sub}"
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, TextModal), what="the reason question")
        await pilot.press("enter")  # no reason: refused, the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, TextModal)
        await pilot.press(*"firewall blocks 5061 here; checked from the phone VLAN")
        await pilot.press("enter")
        await until_state(pilot, second, "done")
        assert second.job.steps[f"verify:{sub}"].state == "skipped"
        assert "firewall blocks 5061" in second.job.steps[f"verify:{sub}"].detail
        assert "1 step(s) skipped" in second.job.detail
