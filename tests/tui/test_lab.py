"""The real app against the embedded lab (fast profile), started the way `ucterm demo` starts it.

Asserts on the engine's events (run_test(message_hook=...)) and on the screen: a live scan with a
progress indicator per cluster, a renewal end to end with the lab CA, pause/resume, abort with
confirmation, and the "waiting for the CA" step answered from the CA dialog.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from ucterm.tui.app import UctermApp
from ucterm.tui.launch import DemoStartup
from ucterm.tui.messages import EngineEvent, EngineEvents
from ucterm.tui.screens.jobs import JobsScreen
from ucterm.tui.screens.main import MainScreen
from ucterm.tui.screens.modals import ConfirmModal, HostKeyModal, PasswordModal
from ucterm.tui.screens.renewal import PlanScreen, RenewalScreen
from ucterm.tui.screens.run import RunScreen
from ucterm.tui.screens.signed import SignedCertScreen
from ucterm.tui.session import Session

pytestmark = pytest.mark.timeout(120)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 60.0,
                   what: str | Callable[[], str] = "") -> None:
    """`what`: what is awaited, for the failure (a callable: said as things are then)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {said or condition}")
        await pilot.pause(0.05)


async def until_state(pilot: Pilot[Any], run: RunScreen, *wanted: str, timeout: float = 90.0) -> list[str]:
    """Wait for the job to reach one of `wanted`, answering yes to the runner's questions (returned).

    A failed step fails the test at once, with its reason.
    """
    start = time.monotonic()
    asked: list[str] = []
    while run.state not in wanted:
        modal = run.app.screen
        if isinstance(modal, ConfirmModal) and modal._title == "The renewal asks":
            asked.append(str(modal._body))
            await pilot.press("y")
            await pilot.pause()
            continue
        if run.state in ("held", "failed") and "failed" not in wanted:
            step = run.failed_step or ""
            detail = run.query_one("#steps").states.get(step, ("", run.detail))[1]  # type: ignore[attr-defined]
            raise AssertionError(f"step {step} failed: {detail or run.detail}")
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {wanted} (state {run.state})")
        await pilot.pause(0.05)
    return asked


def events(messages: list[Message], kind: str) -> list[Any]:
    """The engine events of `kind` the app received (single or batched), in order."""
    out: list[Any] = []
    for m in messages:
        if isinstance(m, EngineEvent):
            out += [m.event] if m.kind == kind else []
        elif isinstance(m, EngineEvents):
            out += [e for e in m.events if type(e).__name__ == kind]
    return out


def demo_app(profile: str = "fast") -> UctermApp:
    return UctermApp(startup=DemoStartup(profile))


async def scanned(pilot: Pilot[Any], app: UctermApp) -> MainScreen:
    main = app.main_screen
    assert main is not None
    await wait_for(pilot, lambda: app.session is not None and app.session.scan is not None and not main.progress,
                   what="the first scan")
    await pilot.pause()
    return main


async def start_renewal(pilot: Pilot[Any], app: UctermApp, query: str, *, signer: str = "lab",
                        confirm_each: bool = False) -> RunScreen:
    """Filter to one certificate, `n`, choose the signer (and the form's "confirm" box: ask again before
    each risky step), preview, `x`, confirm: the run screen."""
    await pilot.press("slash", *query, "enter")
    await pilot.pause()
    await pilot.press("n")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, RenewalScreen), form
    form.query_one(f"#signer-{signer}").value = True  # the demo offers its corp CA first
    if confirm_each:
        form.query_one("#confirm-each").value = True  # type: ignore[attr-defined]
    await pilot.pause()
    await pilot.press("p")
    await pilot.pause()
    assert isinstance(app.screen, PlanScreen)
    await pilot.press("x")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
    await pilot.press("y")
    await wait_for(pilot, lambda: any(isinstance(s, RunScreen) for s in app.screen_stack), what="the run screen")
    return next(s for s in app.screen_stack if isinstance(s, RunScreen))


async def test_demo_starts_the_lab_and_scans_live() -> None:
    messages: list[Message] = []
    app = demo_app()
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        main = await scanned(pilot, app)
        progress = events(messages, "ScanProgress")
        assert {p.cluster for p in progress} == {"hq", "branch", "presence", "voicemail"}
        finals = {p.cluster for p in progress if p.done == p.total}
        assert finals == {"hq", "branch", "presence", "voicemail"}
        assert len(events(messages, "NodeScanned")) == 9
        rows = main.query_one("#certs")._certs  # type: ignore[attr-defined]
        assert rows and any(c.status == "expired" for c in rows.values())
        assert app.session is not None and app.session.inventory_path is not None
        assert app.session.inventory_path.exists()  # the lab inventory lives in the state dir
        # Navigate the live estate: the tree scopes the table.
        await pilot.press("1", "down")
        await pilot.pause()
        assert main.scope.cluster == "hq"


async def test_demo_renewal_end_to_end_with_the_lab_ca() -> None:
    messages: list[Message] = []
    app = demo_app()
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await scanned(pilot, app)
        run = await start_renewal(pilot, app, "tomcat branch cucm125-pub")
        asked = await until_state(pilot, run, "done")
        # Hard to undo, so asked first: once, in "Run the renewal?", which listed the upload.
        assert asked == []
        assert any("approved before the run: Upload" in p.message for p in events(messages, "StepProgress"))
        finished = events(messages, "JobFinished")
        assert finished and finished[-1].state == "done"
        started = {e.step for e in events(messages, "StepStarted")}
        assert started == {s.id for s in run.plan.steps}
        assert any(e.step.startswith("verify:") for e in events(messages, "StepDone"))
        assert events(messages, "JobTranscriptLine")
        assert run.query_one("#logs").line_count() > 10  # type: ignore[attr-defined]
        assert "done" in str(run.query_one("#title").render())
        # The journal lists the job; enter opens it again from the jobs screen.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, what="the main screen")
        await pilot.press("J")
        await pilot.pause()
        jobs = app.screen
        assert isinstance(jobs, JobsScreen)
        assert [s.job for s in jobs.summaries] == [run.job_id] and jobs.summaries[0].state == "done"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the job's screen")
        assert app.screen.job_id == run.job_id  # type: ignore[attr-defined]


async def test_multi_server_tomcat_form_names_the_imp_nodes_it_reaches() -> None:
    """hq's multi-server tomcat certificate reaches the linked IM&P nodes (§2.1): the form says so,
    and follows SAN edits into the plan."""
    from textual.widgets import Input, Static

    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scanned(pilot, app)
        await pilot.press("slash", *"tomcat hq", "enter", "n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RenewalScreen) and form.multi
        linked = form.query_one("#linked", Static)
        assert linked.display and "also reaches imp14-pub, imp14-sub1" in str(linked.render())
        sans = form.query_one("#sans", Input)
        sans.value = sans.value.replace(", imp14-sub1.lab.example", "")
        await pilot.pause()
        assert "also reaches imp14-pub (IM and Presence" in str(linked.render())
        await pilot.press("p")
        await pilot.pause()
        plan_screen = app.screen
        assert isinstance(plan_screen, PlanScreen)
        assert plan_screen.plan.linked_nodes == ("imp14-pub.lab.example",)


async def answering(pilot: Pilot[Any], app: UctermApp, condition: Callable[[], object], what: str,
                    timeout: float = 60.0) -> None:
    """wait_for, saying yes to the runner's questions on the way."""
    start = time.monotonic()
    while not condition():
        screen = app.screen
        if isinstance(screen, ConfirmModal) and screen._title == "The renewal asks":
            await pilot.press("y")
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def press_on(pilot: Pilot[Any], app: UctermApp, screen: RunScreen, key: str) -> None:
    """Press `key` on the run screen itself, once the runner's question (if any) is answered."""
    await answering(pilot, app, lambda: app.screen is screen, "the run screen on top")
    await pilot.press(key)


def restarting(messages: list[Message]) -> bool:
    return any(e.step_kind == "restart" for e in events(messages, "StepStarted"))


async def test_pause_resume_and_abort_with_confirmation() -> None:
    # The demo profile: restarts take seconds, so there is time to pause during one.
    messages: list[Message] = []
    app = demo_app("demo")
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await scanned(pilot, app)
        run = await start_renewal(pilot, app, "callmanager branch cucm125-sub1")
        await answering(pilot, app, lambda: restarting(messages), "the restart step")
        await press_on(pilot, app, run, "p")  # pause after the current step (a restart is never cut short)
        await answering(pilot, app, lambda: run.state == "paused", "the job to pause")
        assert events(messages, "JobPaused")
        done_while_paused = len(events(messages, "StepDone"))
        await pilot.pause(0.5)
        assert len(events(messages, "StepDone")) == done_while_paused  # nothing runs while paused
        await press_on(pilot, app, run, "p")  # resume
        await answering(pilot, app, lambda: run.state == "done", "the job to finish after resume", 90)
        assert len(events(messages, "StepDone")) > done_while_paused
        assert events(messages, "JobFinished")[-1].state == "done"

        # A second renewal: abort asks first; "no" keeps it, "yes" stops it at the step boundary.
        messages.clear()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, what="the main screen")
        await pilot.press("escape")  # clear the filter
        second = await start_renewal(pilot, app, "callmanager branch cucm125-pub")
        await answering(pilot, app, lambda: restarting(messages), "the second job's restart step")
        await press_on(pilot, app, second, "a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and app.screen.danger
        await pilot.press("n")  # changed my mind
        await pilot.pause()
        assert app.screen is second and not events(messages, "JobFinished")
        await press_on(pilot, app, second, "a")
        await pilot.pause()
        await pilot.press("y")
        await answering(pilot, app, lambda: events(messages, "JobFinished"), "JobFinished", 60)
        assert events(messages, "JobFinished")[-1].state == "aborted"
        assert second.state == "aborted"
        assert any(s.state in ("pending",) for s in second.job.steps.values())  # the rest never ran


async def test_waiting_for_the_ca_then_the_lab_ca_signs_in_the_dialog() -> None:
    messages: list[Message] = []
    app = demo_app()
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await scanned(pilot, app)
        run = await start_renewal(pilot, app, "callmanager branch cucm125-pub", signer="files")
        await until_state(pilot, run, "waiting")
        waiting = events(messages, "JobWaiting")[-1]
        assert waiting.csrs and all(path.endswith(".pem") for path in waiting.csrs)
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SignedCertScreen)
        assert "CERTIFICATE REQUEST" in dialog.csr_pem and str(dialog.csr_path) in str(waiting.csrs)
        # A certificate that does not belong to the CSR is refused at once, with the fix.
        dialog.query_one("#signed-pem").text = dialog.csr_pem  # type: ignore[attr-defined]
        await pilot.pause()
        assert not dialog.ok
        await pilot.press("f2")  # the lab CA signs
        await wait_for(pilot, lambda: dialog.ok, what="a validated certificate")
        await pilot.press("f4")
        await until_state(pilot, run, "done")
        assert events(messages, "JobFinished")[-1].state == "done"


class ForgetHostKey(DemoStartup):
    """The demo lab with one node's line taken out of ucterm's known_hosts: its key is unknown."""

    def __init__(self, folder: Path, node: str) -> None:
        super().__init__("fast", inventory=folder / "inventory.toml")
        self.node = node

    async def __call__(self, app: UctermApp) -> Session:
        session = await super().__call__(app)
        assert self.inventory is not None
        known_hosts = self.inventory.parent / "known_hosts"
        kept = [line for line in known_hosts.read_text().splitlines() if not line.startswith(f"[{self.node}.")]
        known_hosts.write_text("\n".join(kept) + "\n")
        return session


def shown(app: UctermApp) -> str:
    """The screen as plain text (the text runs of the SVG screenshot, unescaped, one line per row)."""
    import html
    import re

    rows: dict[str, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<text[^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', app.export_screenshot()):
        rows.setdefault(m.group(2), []).append((float(m.group(1)), html.unescape(m.group(3))))
    return "\n".join("".join(t for _, t in sorted(parts)).replace("\xa0", " ")
                     for _, parts in sorted(rows.items(), key=lambda kv: float(kv[0])))


def node_state(app: UctermApp, cluster: str, fqdn: str) -> str | None:
    session = app.session
    result = session.scan.node_result(cluster, fqdn) if session is not None and session.scan else None
    return result.state if result is not None else None


async def test_unknown_host_key_refused_then_accepted(tmp_path: Path) -> None:
    app = UctermApp(startup=ForgetHostKey(tmp_path, "cucm125-sub1"))
    known_hosts = tmp_path / "known_hosts"
    async with app.run_test(size=(120, 40)) as pilot:
        main = await scanned(pilot, app)
        assert app.session is not None and app.session.inventory is not None
        fqdn = next(n.fqdn for n in app.session.inventory.cluster("branch").nodes
                    if n.fqdn.startswith("cucm125-sub1."))
        assert node_state(app, "branch", fqdn) == "host-key-unknown"
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyModal), what="the host-key question")
        await pilot.pause()
        result = app.session.scan.node_result("branch", fqdn)  # type: ignore[union-attr]
        assert result is not None and result.host_key_fingerprint
        assert app.screen._fingerprint == result.host_key_fingerprint  # type: ignore[attr-defined]
        assert result.host_key_fingerprint in shown(app)
        # Refuse: nothing recorded, the node stays refused (no rescan).
        before = known_hosts.read_text()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen is main, what="the main screen")
        await pilot.pause(0.3)
        assert known_hosts.read_text() == before and fqdn not in before
        assert node_state(app, "branch", fqdn) == "host-key-unknown"
        # Scan again: asked again; accept records the key (read again through ucterm.vos) and rescans.
        main.scan_estate(("branch",))
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyModal), what="the question again")
        await pilot.press("a")
        await wait_for(pilot, lambda: fqdn in known_hosts.read_text(), what="the key in known_hosts")
        await wait_for(pilot, lambda: node_state(app, "branch", fqdn) == "ok" and not main.progress,
                       what="the rescan of branch")
        assert not isinstance(app.screen, HostKeyModal)


class PromptForBranch(DemoStartup):
    """The demo lab with `os_password = "prompt"` on cluster branch: the TUI must ask for it."""

    def __init__(self, folder: Path) -> None:
        super().__init__("fast", inventory=folder / "inventory.toml")
        self.password = ""

    async def __call__(self, app: UctermApp) -> Session:
        import tomllib

        from ucterm.files import write_toml

        first = await super().__call__(app)
        assert self.inventory is not None
        document = tomllib.loads(self.inventory.read_text())
        self.password = document["defaults"]["os_password"]
        branch = next(c for c in document["cluster"] if c["name"] == "branch")
        branch["os_password"] = "prompt"
        write_toml(self.inventory, document)
        session = Session.open(self.inventory, clock=first.clock, scan_file=first.scan_file,
                               signers=first.signers, label=first.label)
        session.runner_settings = first.runner_settings
        return session


async def test_prompt_password_asked_once_and_never_shown(tmp_path: Path) -> None:
    startup = PromptForBranch(tmp_path)
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="the password question")
        await pilot.pause()
        assert 'os_password for cluster "branch"' in " ".join(shown(app).split())
        password = startup.password
        assert len(password) >= 6
        await pilot.press(*password)
        await pilot.pause()
        assert password not in shown(app) and password not in app.export_screenshot()
        await pilot.press("enter")
        main = await scanned(pilot, app)
        branch = app.session.inventory.cluster("branch")  # type: ignore[union-attr]
        assert all(node_state(app, "branch", n.fqdn) == "ok" for n in branch.nodes)
        assert password not in shown(app) and password not in app.export_screenshot()
        # Asked once: a second scan of branch does not ask again.
        main.scan_estate(("branch",))
        await pilot.pause(0.2)
        assert not isinstance(app.screen, PasswordModal)
        await wait_for(pilot, lambda: not main.progress, what="the second scan")
        assert not isinstance(app.screen, PasswordModal)
        assert all(node_state(app, "branch", n.fqdn) == "ok" for n in branch.nodes)
        assert password not in shown(app) and password not in app.export_screenshot()


class PromptForSigner(DemoStartup):
    """The demo lab with the corp CA's password set to `prompt` in the inventory."""

    def __init__(self, folder: Path) -> None:
        super().__init__("fast", inventory=folder / "inventory.toml")
        self.password = ""

    async def __call__(self, app: UctermApp) -> Session:
        import tomllib

        from ucterm.files import write_toml

        first = await super().__call__(app)
        assert self.inventory is not None
        document = tomllib.loads(self.inventory.read_text())
        self.password = document["signer"][0]["password"]
        document["signer"][0]["password"] = "prompt"
        write_toml(self.inventory, document)
        session = Session.open(self.inventory, clock=first.clock, scan_file=first.scan_file,
                               signers=first.signers, label=first.label)
        session.runner_settings = first.runner_settings
        return session


async def test_demo_renewal_signed_by_the_corp_ca(tmp_path: Path) -> None:
    """The demo's form offers its corp CA (the lab's AD CS web enrollment) first; its password, set to
    prompt here, is asked in the modal before the job runs and never shown; the run screen shows what
    the signer did (submitted, request id, issued) in the step's detail and the node's log."""
    messages: list[Message] = []
    startup = PromptForSigner(tmp_path)
    app = UctermApp(startup=startup)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await scanned(pilot, app)
        await pilot.press("slash", *"tomcat voicemail cuc15-pub", "enter")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RenewalScreen)
        first = form.query("#signer RadioButton").first()
        assert first.id == "signer-cfg0-corp-adcs" and first.value  # preselected
        assert "corp-adcs: AD CS web enrollment signs the CSR" in str(first.label)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="the signer's password question")
        await pilot.pause()
        assert 'password for signer "corp-adcs"' in " ".join(shown(app).split())
        await pilot.press(*startup.password, "enter")
        await wait_for(pilot, lambda: any(isinstance(s, RunScreen) for s in app.screen_stack), what="the run")
        run = next(s for s in app.screen_stack if isinstance(s, RunScreen))
        await until_state(pilot, run, "done")
        progress = [e.message for e in events(messages, "StepProgress") if e.step.startswith("obtain_signed:")]
        assert any("submitted with template CiscoUCServerClient, request" in m for m in progress)
        assert any("issued" in m for m in progress)
        obtain = next(s.id for s in run.plan.steps if s.kind == "obtain_signed")
        assert 'signer "corp-adcs"' in run.query_one("#steps").states[obtain][1]  # type: ignore[attr-defined]
        assert startup.password not in shown(app) and startup.password not in app.export_screenshot()
        assert all(startup.password not in str(getattr(e, "message", "")) for e in events(messages, "StepProgress"))
