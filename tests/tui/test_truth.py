"""The screen tells the whole truth, at 80×24, in plain words (issue 15), driven with Pilot.

The recorded estate (tests/tui/fixtures) with the clock frozen, unless a test needs the live lab.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import App
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static

from ucterm.inventory import load_inventory
from ucterm.scan.model import load_scan
from ucterm.tui.app import UctermApp
from ucterm.tui.config import Preferences
from ucterm.tui.screens.help import HelpScreen, HelpSection
from ucterm.tui.screens.main import MainScreen
from ucterm.tui.screens.renewal import PlanScreen
from ucterm.tui.session import Session, frozen_clock
from ucterm.tui.widgets.certs.table import CertTable
from ucterm.tui.widgets.renewal.plan import PlanStepTable

Factory = Callable[..., UctermApp]
FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


async def scan_ended(pilot: Pilot[UctermApp], ended: Callable[[], bool]) -> None:
    """Wait (30 s at most, then fail saying so) until `ended`, then for the frame after it."""
    from .test_lab import wait_for

    await wait_for(pilot, ended, timeout=30, what="the scan to end")
    await pilot.pause()


def text_of(app: App[object]) -> str:
    """The terminal's characters as the user sees them, line by line (the top screen's render)."""
    return "\n".join("".join(segment.text for segment in strip)
                     for strip in app.screen._compositor.render_strips())


def all_text(app: App[object]) -> str:
    """What the screen shows plus every text widget's whole content, also what is scrolled out of view."""
    parts = [text_of(app)]
    for widget in app.screen.query(Static):
        content = widget.content
        parts.append(content.plain if isinstance(content, Content | Text) else str(content))
    return "\n".join(parts)


def app_at(moment: dt.datetime, **session: object) -> UctermApp:
    """The real app on the recorded scan, seen at `moment`."""
    scan = load_scan(FIXTURES / "scan.json")
    inventory = load_inventory(FIXTURES / "inventory.toml")
    s = Session(inventory=inventory, inventory_path=FIXTURES / "inventory.toml", scan=scan,
                clock=frozen_clock(moment), label="recorded estate", **session)  # type: ignore[arg-type]
    return UctermApp(s, scan_on_start=False, preferences=Preferences())


# ---- one rounding rule ------------------------------------------------------------------------


async def test_days_ago_in_the_detail_agree_with_the_lint_finding() -> None:
    """Branch tomcat expired on 2026-11-24 08:00; seen three and a half days later it expired 3 days
    ago in the status line, the validity line and its own lint finding (was "4d ago" beside "(3 days ago)")."""
    app = app_at(NOW + dt.timedelta(hours=12))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(CertTable)
        assert table.current is not None and (table.current.cluster, table.current.unit) == ("branch", "tomcat")
        await pilot.press("enter")
        await pilot.pause()
        text = text_of(app)
        assert "expired 3d ago" in text and "(3 days ago)" in text, text
        assert "4d ago" not in text and "4 days ago" not in text


# ---- plain words ------------------------------------------------------------------------------

#: Our reference's section numbers, source keys, evidence tags and file names (see tests/renewal/test_plain_words.py).
INTERNAL = re.compile(r"§|\bS-[A-Z0-9]|\[(?:VERIFIED|INFERRED|CONFLICT)|cisco-uc-certs|procedure\.md|\bcatalog\b")


def internal_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if INTERNAL.search(line)]


async def test_every_screen_speaks_plainly(recorded: Factory) -> None:
    """The main screen (identity and all stores, every identity row's detail), help, a renewal form
    of each cluster, its plan (the first and every risky step) and the confirmation."""
    app = recorded()
    seen: dict[str, list[str]] = {}

    def look(where: str) -> None:
        bad = internal_lines(all_text(app))
        if bad:
            seen[where] = bad

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        main = app.screen
        assert isinstance(main, MainScreen)
        for stores in ("identity", "all stores"):
            table = main.query_one(CertTable)
            # Trust certificates have no lint: their first rows are enough.
            for row in range(table.row_count if stores == "identity" else 3):
                table.move_cursor(row)
                await pilot.pause()
                look(f"{stores} row {row}")
            await pilot.press("question_mark")
            await pilot.pause()
            look(f"help {stores}")
            await pilot.press("escape", "i")
            await pilot.pause()
        session = app.session
        assert session is not None and session.inventory is not None
        # One form per cluster, with a unit that cannot be multi-server there where there is one (the
        # form says why); the reasons of every unit come from the engine (tests/renewal/test_plain_words.py).
        for cluster, unit in (("hq", "CallManager"), ("branch", "tomcat"), ("presence", "cup-xmpp"),
                              ("voicemail", "tomcat")):
            app.open_renewal(cluster, unit)
            await pilot.pause()
            look(f"form {cluster} {unit}")
            await pilot.press("p")
            await pilot.pause()
            plan = app.screen
            assert isinstance(plan, PlanScreen), f"{cluster} {unit}"
            # Every step shows the plan's warnings and risks; risky steps add their own note.
            for row in [0, *(i for i, step in enumerate(plan.plan.steps) if step.risky)]:
                plan.query_one(PlanStepTable).move_cursor(row=row, animate=False)
                await pilot.pause()
                look(f"plan {cluster} {unit} step {row + 1}")
            await pilot.press("x")
            await pilot.pause()
            look(f"confirmation {cluster} {unit}")
            await pilot.press("n", "escape", "escape")
            await pilot.pause()
            assert app.screen is main
    assert not seen, seen


# ---- help ------------------------------------------------------------------------------------


def _textual_class_names() -> set[str]:
    import textual.containers
    import textual.screen
    import textual.widgets

    names = set(textual.widgets.__all__) | {n for n in dir(textual.containers) if n[:1].isupper()}
    return names | {"Screen", "ModalScreen", "Widget"}


async def _help_of(pilot: Pilot[UctermApp]) -> tuple[str, list[HelpSection]]:
    app = pilot.app
    await pilot.press("f1")
    await pilot.pause()
    help_screen = app.screen
    assert isinstance(help_screen, HelpScreen)
    title, sections = help_screen._title, help_screen._sections
    text = text_of(app)
    await pilot.press("escape")
    await pilot.pause()
    return title + "\n" + text, sections


async def test_help_speaks_of_what_the_user_sees_not_of_widget_classes(recorded: Factory) -> None:
    """Help on every pane of the main screen and every field of the renewal form: friendly names
    ("Help · Select", "VerticalScroll", "Help · DataTable" were seen), and a key's name never runs
    into its description ("Show certificatesShow the certificates")."""
    classes = _textual_class_names()
    app = recorded()
    found: dict[str, str] = {}
    async with app.run_test(size=(80, 70)) as pilot:  # 80 columns; tall, so that all of the help shows
        await pilot.pause()

        async def visit(where: str) -> None:
            text, sections = await _help_of(pilot)
            titles = [text.splitlines()[0], *(s.title for s in sections)]
            for title in titles:
                words = set(re.findall(r"[A-Za-z]+", title))
                if words & classes:
                    found[f"{where}: {title}"] = "widget class name"
            for s in sections:
                for e in s.entries:
                    if e.tooltip and f"{e.description}{e.tooltip[:8]}" in text.replace("\n", ""):
                        found[f"{where}: {e.description}"] = "name runs into its description"

        for pane in ("1", "2", "3"):
            await pilot.press(pane)
            await visit(f"main {pane}")
        app.open_renewal("hq", "tomcat")
        await pilot.pause()
        form = app.screen
        for _ in range(12):  # every field of the form, then the button and around again
            await visit(f"form {type(form.focused).__name__}#{form.focused.id if form.focused else ''}")
            await pilot.press("tab")
            await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        app.action_jobs()
        await pilot.pause()
        await visit("jobs")
    assert not found, found


async def test_one_risky_step_is_one_risky_step(recorded: Factory) -> None:
    """ipsec on one node (its one risky step is the upload): "1 risky step", not "1 risky steps"."""
    app = recorded()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        session = app.session
        assert session is not None
        from dataclasses import replace

        from ucterm.tui.messages import PreviewPlan

        options = replace(session.renewal_defaults("hq", "ipsec", False), nodes=("cucm-sub1.hq.example.com",))
        plan = session.build_plan(options)
        risky = [s for s in plan.steps if s.risky]
        assert len(risky) == 1, [s.name for s in risky]
        app.post_message(PreviewPlan(plan, "files"))
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        text = all_text(app)
        assert "1 risky step:" in text and "1 risky steps" not in text, text


# ---- command palette ------------------------------------------------------------------------------


async def test_the_palette_opens_on_ucterms_commands(recorded: Factory) -> None:
    """ctrl+p lists renew, jump, expiring and jobs first, then ucterm's keys, and Textual's generic
    entries (Maximize, Screenshot, Cursor up) last; they were first."""
    from textual.command import CommandList

    app = recorded()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause(0.6)  # the palette gathers its hits in batches
        await pilot.pause()
        options = app.screen.query_one(CommandList)
        labels = [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]
        assert labels[0].startswith("Renew this: tomcat on branch"), labels[:5]
        generic = [i for i, label in enumerate(labels)
                   if label.split(" (")[0] in ("Maximize", "Screenshot", "Cursor up", "Theme", "Keys")]
        ours = [i for i, label in enumerate(labels) if label.startswith(("Renew", "Jump to", "Jobs", "Show", "Filter"))]
        assert generic and ours and max(ours) < min(generic), labels
        visible = text_of(app)
        assert "Renew this: tomcat on branch" in visible and "Screenshot" not in visible


# ---- NO_COLOR ---------------------------------------------------------------------------------


def _luminance(color: RichStyle | None, default: tuple[int, int, int]) -> float:
    """WCAG relative luminance of a Rich colour."""
    rgb = color.get_truecolor() if color is not None else default  # type: ignore[attr-defined]
    channels = [c / 255 for c in rgb]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(style: RichStyle) -> float:
    """WCAG contrast ratio of a segment's text on its background, as the terminal shows it."""
    fg = _luminance(style.color, (255, 255, 255))  # type: ignore[arg-type]
    bg = _luminance(style.bgcolor, (0, 0, 0))  # type: ignore[arg-type]
    hi, lo = max(fg, bg), min(fg, bg)
    return (hi + 0.05) / (lo + 0.05)


def _shown_lines(app: UctermApp) -> list[list[tuple[str, RichStyle]]]:
    """Every line's segments with their styles after the app's filters (Monochrome under NO_COLOR)."""
    from textual.color import Color

    lines = []
    for strip in app.screen._compositor.render_strips():
        for line_filter in app.get_line_filters():
            strip = strip.apply_filter(line_filter, Color(0, 0, 0))
        lines.append([(seg.text, seg.style) for seg in strip if seg.style is not None and seg.text.strip()])
    return lines


async def test_no_color_makes_the_most_urgent_status_the_most_legible(recorded: Factory,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Under NO_COLOR `✖ EXPIRED` and `▲ 12d` were bold grey on grey (2 to 3.3:1, the least readable text
    on screen); in reverse video they read at least 7:1 (WCAG AAA), in the table, the
    tree, the title bar and the detail pane."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = recorded()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.no_color
        found = set()
        for line in _shown_lines(app):
            for text, st in line:
                if URGENT_TEXT.search(text):
                    found.add(URGENT_TEXT.search(text).group(0))  # type: ignore[union-attr]
                    # WCAG AAA: 7:1 (was 2 to 3.3:1, below the muted text around it).
                    assert _contrast(st) >= 7.0, (text, round(_contrast(st), 1))
        assert found == {"EXPIRED", "▲ 12d", "1 expired", "1 critical"}, found


URGENT_TEXT = re.compile(r"EXPIRED|▲ 12d|1 expired|1 critical")


# ---- focus ---------------------------------------------------------------------------------------


async def test_enter_then_esc_returns_to_the_table(recorded: Factory) -> None:
    """enter on a row opens the detail full screen; esc closes it and ↓ moves the table's cursor
    again (focus stayed on the detail pane, so ↑/↓ scrolled it)."""
    app = recorded()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        main = app.screen
        assert isinstance(main, MainScreen)
        table = main.query_one(CertTable)
        await pilot.press("enter")
        await pilot.pause()
        assert main.maximized is not None
        await pilot.press("escape")
        await pilot.pause()
        assert main.maximized is None and main.focused is table
        row = table.cursor_row
        await pilot.press("down")
        assert table.cursor_row == row + 1


# ---- partly read nodes (the live lab) ------------------------------------------------------------


async def test_partly_read_nodes_are_marked_counted_and_not_misjudged(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab with the OS password's env var unset: every node is read over TLS only. The tree marks
    each node and says why, the status bar counts them as the CLI does (PARTIAL), and the detail of
    a healthy CA-signed certificate shows no chain finding for a chain that was never read (it said
    "✖ 1 error" and chain-incomplete)."""
    from ucterm.lab import LabEstate
    from ucterm.scan.render import node_problems
    from ucterm.tui.widgets.certs.detail import CertDetail

    monkeypatch.delenv("UCTERM_TEST_UNSET", raising=False)
    estate = LabEstate.demo(profile="fast")
    await estate.start()
    try:
        path = estate.write_inventory(tmp_path / "inventory.toml")
        lines = [('os_password = "env:UCTERM_TEST_UNSET"' if line.startswith("os_password =") else line)
                 for line in path.read_text().splitlines()]
        path.write_text("\n".join(lines) + "\n")
        session = Session.open(path, label="lab")
        app = UctermApp(session, preferences=Preferences())
        async with app.run_test(size=(120, 40)) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            await scan_ended(pilot, lambda: session.scan is not None and not main.progress)
            scan = session.scan
            assert scan is not None and len(node_problems(scan)) == 9  # what `ucterm scan` lists as PARTIAL
            text = all_text(app)
            assert "◐ 9 of 9 partly read" in text
            assert text.count("◐ TLS only") >= 4, text  # under each node (those in view)
            assert "UCTERM_TEST_UNSET" in text  # the reason, in the tree and the detail
            await pilot.press("slash", *"tomcat hq", "enter")
            await pilot.pause()
            cert = main.query_one(CertTable).current
            assert cert is not None and cert.unit == "tomcat" and not cert.record.self_signed
            detail = all_text(app)
            assert "chain-incomplete" not in detail and "✖ 1 error" not in detail, detail
            assert "not checked: the node's trust stores were not read (TLS only)" in detail
            assert main.query_one(CertDetail) is not None
    finally:
        await estate.stop()


# ---- counts that agree ---------------------------------------------------------------------------


async def test_the_title_counts_what_it_says_and_agrees_with_ucterm_scan(tmp_path: Path) -> None:
    """The title said "2 expired" (identity certificates, unsaid) where `ucterm scan` said 5, also in
    "all stores" mode. It names what it counts, follows `i`, and in "all stores" gives the scan's numbers."""
    import asyncio
    import os
    import sys

    from ucterm.lab import LabEstate

    estate = LabEstate.demo(profile="fast")
    await estate.start()
    try:
        path = estate.write_inventory(tmp_path / "inventory.toml")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ucterm", "--inventory", str(path), "scan", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        summary = out.decode().strip().splitlines()[-1]
        cli = dict((word, int(n)) for n, word in re.findall(r"(\d+) (expired|critical|warning|ok)", summary))
        assert set(cli) == {"expired", "critical", "warning", "ok"}, summary

        session = Session.open(path, label="lab")
        app = UctermApp(session, preferences=Preferences())
        async with app.run_test(size=(80, 24)) as pilot:
            main = app.screen
            assert isinstance(main, MainScreen)
            await scan_ended(pilot, lambda: session.scan is not None and not main.progress)
            title = text_of(app).splitlines()[0]
            assert "identity:" in title, title
            await pilot.press("i")
            await pilot.pause()
            title = text_of(app).splitlines()[0]
            assert "all stores:" in title, title
            shown = {word: int(n) for n, word in re.findall(r"(\d+) (expired|critical|warning|ok)", title)}
            assert {k: v for k, v in cli.items() if v or k == "ok"} == shown, (summary, title)
    finally:
        await estate.stop()


# ---- the CA dialog at 80×24 -------------------------------------------------------------------------


async def test_the_ca_dialog_shows_its_findings_at_80x24_in_its_own_words() -> None:
    """A certificate given without its CA: the chain-incomplete error and its fix are on screen at
    80×24 without scrolling (they were below the fold), and the fix says what to paste or add,
    not "pass it with --chain" (a command-line flag)."""
    from ucterm.tui.screens.signed import SignedCertScreen

    from .test_lab import demo_app, scanned, start_renewal, until_state

    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scanned(pilot, app)
        run = await start_renewal(pilot, app, "tomcat branch cucm125-pub", signer="files")
        await until_state(pilot, run, "waiting")
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SignedCertScreen)
        signer = app.session.signer_for("lab") if app.session else None
        assert signer is not None
        leaf, _chain = await signer.sign(dialog.csr_pem)
        dialog.query_one("#signed-pem").text = leaf  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.pause()
        text = text_of(app)
        assert "✖ error [chain-incomplete]" in text, text
        assert "fix:" in text and "paste it with the certificate" in " ".join(all_text(app).split())
        assert "--chain" not in all_text(app)


# ---- 80×24 first ---------------------------------------------------------------------------------


async def test_the_main_screen_is_laid_out_for_80x24() -> None:
    """The demo estate at 80×24: ten rows (it showed 6 of 61), each row's status, unit and
    cluster/node in full (it showed "hq/cucm14-sub"), the status bar's halves apart and whole
    ("r refreshidentity · …"), the filter's hint whole."""
    from ucterm.tui.view import nodes_text

    from .test_lab import demo_app, scanned

    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await scanned(pilot, app)
        table = main.query_one(CertTable)
        lines = text_of(app).splitlines()
        top = next(i for i, line in enumerate(lines) if "cluster/node(s)" in line)
        bottom = next(i for i, line in enumerate(lines) if " shown ─╯" in line)
        rows = [line for line in lines[top + 1:bottom] if re.search(r"│ [✖▲●✔] ", line)]
        assert len(rows) >= 10, "\n".join(lines)
        shown = [table.get_row_at(i) for i in range(len(rows))]
        for cells, line in zip(shown, rows, strict=True):
            assert all(str(cell) in line for cell in cells), (cells, line)
        for cert in list(table._certs.values())[: len(rows)]:
            where = f"{cert.cluster}/{nodes_text(cert.nodes)}"
            assert any(where in line for line in rows), (where, rows)
        status = lines[-2]
        assert re.search(r"scanned \d{4}-\d\d-\d\d \d\d:\d\d UTC {2,}identity · by days left", status), status
        await pilot.press("slash")
        await pilot.pause()
        placeholder = main.query_one("#filter", Input).placeholder
        assert placeholder in text_of(app), text_of(app)


# ---- the OU ----------------------------------------------------------------------------------------


async def test_the_ou_choice_is_what_the_transport_does(recorded: Factory) -> None:
    """12.5's `set csr gen` asks nothing and puts the OU in (the form offered "include the OU"
    unchecked all the same); the REST API leaves it out from 14SU1. The form shows the fixed value
    with the reason, and the plan's command says it."""
    from ucterm.lab import LabEstate
    from ucterm.tui.screens.renewal import RenewalScreen
    from ucterm.tui.widgets.common.toggles import StateCheckbox

    app = recorded()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.open_renewal("branch", "tomcat")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RenewalScreen)
        box = form.query_one("#ou", StateCheckbox)
        assert box.disabled and box.value and form.options().include_ou
        assert "always puts the OU from web-security" in all_text(app)
        await pilot.press("p")
        await pilot.pause()
        plan = app.screen
        assert isinstance(plan, PlanScreen)
        command = next(c for s in plan.plan.steps if s.kind == "generate_csr" for c in s.commands)
        assert "carries the OU" in command, command
        await pilot.press("escape", "escape")
        await pilot.pause()
        app.open_renewal("hq", "tomcat")  # 14SU3, REST
        await pilot.pause()
        box = app.screen.query_one("#ou", StateCheckbox)
        assert box.disabled and not box.value and "leaves the OU out" in all_text(app)

    # What the lab's 12.5 node does with `set csr gen` is what the form says.
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    node = next(n for n in LabEstate.demo(profile="fast").nodes if n.fqdn.startswith("cucm125-pub"))
    csr = x509.load_pem_x509_csr(node.generate_csr("tomcat").encode())
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)


# ---- a finished job tells its end ------------------------------------------------------------------


async def test_a_finished_job_is_toasted_with_its_final_detail() -> None:
    """The end of a renewal was toasted with the detail from before the run ("done: created",
    "done: waiting for the certificate …"): the runner's last events were still gathering."""
    from .test_lab import demo_app, scanned, start_renewal, until_state, wait_for

    app = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scanned(pilot, app)
        run = await start_renewal(pilot, app, "tomcat branch cucm125-pub")
        await until_state(pilot, run, "done")

        def toasts() -> list[str]:
            return [n.message for n in app._notifications]

        # The end's toast comes with the app's JobEnded handling (later than the run screen's state on a
        # loaded machine): wait for it, then look at everything said.
        await wait_for(pilot, lambda: any(m.startswith(f"renewal {run.job_id} done") for m in toasts()),
                       what=lambda: f"the job's end toast; said: {toasts()}")
        await pilot.pause(0.3)
        said = toasts()
        done = [m for m in said if m.startswith(f"renewal {run.job_id} done")]
        assert done and all("proven to serve" in m for m in done), said
        assert not any(m.endswith((": created", "waiting for the certificate")) for m in said), said
        assert run.detail.startswith("1 of 1 node") and "proven" in run.detail, run.detail


# ---- one confirmation ------------------------------------------------------------------------------


async def test_a_multi_server_renewal_asks_once_unless_asked_to_ask_at_each() -> None:
    """hq tomcat, multi-server: "Run the renewal?" lists the risky steps and is the only question
    (it was followed by one per risky step); the form's "confirm" box brings the per-step questions back."""
    from textual.message import Message

    from ucterm.tui.screens.modals import ConfirmModal
    from ucterm.tui.screens.renewal import RenewalScreen
    from ucterm.tui.screens.run import RunScreen
    from ucterm.tui.view import certificates

    from .test_lab import demo_app, events, scanned, until_state, wait_for

    messages: list[Message] = []
    app = demo_app()
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await scanned(pilot, app)
        for confirm_each in (False, True):
            assert app.session is not None
            cert = next(c for c in certificates(app.session.current_scan())
                        if (c.cluster, c.unit) == ("hq", "tomcat") and c.multi_node)
            app.open_renewal("hq", "tomcat", cert)
            await pilot.pause()
            form = app.screen
            assert isinstance(form, RenewalScreen) and form.multi
            if confirm_each:
                form.query_one("#confirm-each", Checkbox).value = True
                await pilot.pause()
            await pilot.press("p")
            await pilot.pause()
            plan = app.screen
            assert isinstance(plan, PlanScreen)
            risky = [s for s in plan.plan.steps if s.risky]
            assert len(risky) >= 4
            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="the confirmation")
            question = all_text(app)
            assert all(s.name in question for s in risky[:6]), question
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) or
                           (isinstance(app.screen, ConfirmModal) and app.screen._title == "The renewal asks"),
                           what="the run screen")
            run = next(s for s in app.screen_stack if isinstance(s, RunScreen))
            asked = await until_state(pilot, run, "done", timeout=120)
            if confirm_each:
                assert len(asked) >= len(risky) - 1, asked  # every risky step asks (HA is not in this plan)
            else:
                assert asked == [], asked
                approved = [p for p in events(messages, "StepProgress") if "approved before the run" in p.message]
                assert approved
            await pilot.press("escape")
            await pilot.pause()


# ---- plain `ucterm` ---------------------------------------------------------------------------------


def test_the_application_refuses_to_start_without_a_terminal(tmp_path: Path) -> None:
    """From a script (no terminal) `ucterm`, `ucterm tui` and `ucterm demo` stop at once: one sentence, exit 3."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "UCTERM_HOME": str(tmp_path / "home")}
    for args in ([], ["tui"], ["demo", "--profile", "fast"]):
        r = subprocess.run([sys.executable, "-m", "ucterm", *args], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL, env=env)
        assert r.returncode == 3, (args, r.stderr)
        assert r.stderr.strip().count("\n") == 0 and "needs a terminal" in r.stderr and "Traceback" not in r.stderr
        assert r.stdout == ""


async def test_plain_ucterm_without_an_inventory_says_it_is_the_demo(tmp_path: Path) -> None:
    """Plain `ucterm` with no inventory opened the demo without a word on screen."""
    from ucterm.tui.launch import DemoStartup, no_inventory_banner

    missing = tmp_path / "config" / "inventory.toml"
    app = UctermApp(startup=DemoStartup("fast", banner=no_inventory_banner(missing)))
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_ended(pilot, lambda: app.session is not None and app.session.scan is not None)
        text = " ".join(text_of(app).split())
        assert "This is the demo lab: no inventory at" in text and str(missing) in all_text(app), text
        assert "ucterm lab --write-inventory F" in text


# ---- lab inventories ------------------------------------------------------------------------------


async def test_a_lab_inventory_offers_the_lab_ca_and_warns_of_nothing_it_wrote(tmp_path: Path) -> None:
    """`ucterm --inventory lab.toml` (written by `ucterm lab --write-inventory`): the form offers the lab
    CA as `ucterm renew --lab-ca` does, a renewal signed by it finishes, and the app does not toast
    twice about the literal passwords the lab wrote there itself."""
    from ucterm.lab import LabEstate
    from ucterm.tui.screens.renewal import RenewalScreen

    from .test_lab import scanned, start_renewal, until_state

    # An inventory of one's own with two literal passwords: one warning that names both.
    mine = tmp_path / "mine.toml"
    mine.write_text('[defaults]\nos_password = "a-secret"\napp_user = "axl"\napp_password = "another"\n'
                    '[[cluster]]\nname = "hq"\nproduct = "cucm"\n'
                    '[[cluster.node]]\nfqdn = "pub.example.com"\nrole = "publisher"\n')
    mine.chmod(0o600)
    own = load_inventory(mine)
    literal = [w for w in own.warnings if "literal password" in w]
    assert len(literal) == 1 and "os_password" in literal[0] and "app_password" in literal[0], own.warnings

    estate = LabEstate.demo(profile="fast")
    await estate.start()
    try:
        path = estate.write_inventory(tmp_path / "lab" / "inventory.toml")
        session = Session.open(path, label="lab")
        assert "lab" in [c.key for c in session.signers]
        assert not [w for w in session.inventory.warnings if "literal" in w]  # type: ignore[union-attr]
        app = UctermApp(session, preferences=Preferences())
        async with app.run_test(size=(120, 40)) as pilot:
            await scanned(pilot, app)
            assert not [n.message for n in app._notifications if "literal" in n.message]
            run = await start_renewal(pilot, app, "tomcat branch cucm125-pub")  # the lab CA is chosen
            await until_state(pilot, run, "done")
            assert not isinstance(app.screen, RenewalScreen)
    finally:
        await estate.stop()


def test_the_readme_screenshots_show_no_internal_reference() -> None:
    """screenshots/*.svg (made by screenshots/make.py from the demo) are what the README shows."""
    import html

    folder = Path(__file__).resolve().parents[2] / "screenshots"
    shots = sorted(folder.glob("*.svg"))
    assert shots
    for shot in shots:
        words = " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", shot.read_text()))
        assert not INTERNAL.search(words.replace("\xa0", " ")), (shot.name, INTERNAL.findall(words))
