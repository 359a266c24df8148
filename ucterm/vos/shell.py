"""The VOS CLI over SSH: one interactive PTY shell per node, driven like a person would.

VOS has no exec channel (§1.1 [VERIFIED: C-ctmcp]), so every command is typed into the
`admin:` shell and its output is read back until the prompt returns. This module owns that
conversation: login (password, then keyboard-interactive answering the password prompt,
§1.1 [VERIFIED: C-ctmcp, C-certgen] / [INFERRED fallback]), host key checks against ucterm's
known_hosts, the banner wait with newline nudges, `set cli pagination off`, pager answers,
per-command dialogs, per-command timeouts, one command at a time, and reconnecting after a
dropped session. It knows nothing about what commands mean: that is :mod:`ucterm.vos.commands`.

A command's output is tied to the command at both ends, because a prompt-looking line inside
output (a description, a banner broadcast, a misbehaving service) followed by a pause must not
end it, and the rest must not become the next command's output (a scan once reported
CallManager with tomcat's certificate that way). It starts after the command's own echo, and
nothing but prompts may arrive between the end of one command and the next one's echo. It ends
when the CLI has answered an end-of-output check: at the first `admin:` after the echo an empty
line is sent, and the output is over once a prompt answers it with nothing else in between (an
empty line gives a new prompt, which is also how a slow banner is nudged, §1.1). If more output
came instead, the first prompt was part of it and reading goes on. When the output cannot be
tied to its command, the session is closed and the command runs again on a new one (when that
is safe): ucterm reconnects rather than guess. Output is read through
:class:`~ucterm.vos.output.CommandOutput` (each line cleaned and searched once) and capped at
:attr:`ShellOptions.max_output` characters per command.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncssh
import asyncssh.encryption
import asyncssh.kex
import asyncssh.mac
import asyncssh.public_key

from ucterm.credentials import Secret
from ucterm.events import EventSink, NodeNotice, emit
from ucterm.vos import dialog as dlg
from ucterm.vos import hostkeys
from ucterm.vos.errors import (
    BannerTimeout,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    LoginRefused,
    OutputTooLarge,
    SessionDropped,
    Unreachable,
    VosCommandError,
)
from ucterm.vos.limits import ConnectionLimiter, maybe_slot
from ucterm.vos.output import CommandOutput, Cursor, OutputLimit
from ucterm.vos.parsers import pagination_off
from ucterm.vos.transcript import Transcript

# Older VOS releases only speak SHA-1 key exchange, CBC ciphers and SHA-1/MD5 MACs. They are
# offered *after* asyncssh's modern defaults, so a modern node never negotiates them.
_LEGACY_KEX = (
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group1-sha1",
)
_LEGACY_CIPHERS = ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc")
_LEGACY_MACS = ("hmac-sha1", "hmac-sha1-96", "hmac-md5")
_LEGACY_HOST_KEYS = ("ssh-rsa", "ssh-dss")


def _with_legacy(defaults: Iterable[bytes], supported: Iterable[bytes], legacy: Iterable[str]) -> list[str]:
    out = [a.decode() for a in defaults]
    known = {a.decode() for a in supported}
    out.extend(a for a in legacy if a in known and a not in out)
    return out


KEX_ALGS = _with_legacy(asyncssh.kex.get_default_kex_algs(), asyncssh.kex.get_kex_algs(), _LEGACY_KEX)
#: AES-GCM first: OpenSSL runs it with AES-NI in one call per packet, where asyncssh's
#: chacha20-poly1305 builds several cipher contexts per packet; a VOS CLI sends one packet per
#: line, so this is most of the client's CPU when hundreds of sessions run at once.
_PREFERRED_CIPHERS = (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com")
ENCRYPTION_ALGS = _with_legacy(
    [
        *_PREFERRED_CIPHERS,
        *(a for a in asyncssh.encryption.get_default_encryption_algs() if a not in _PREFERRED_CIPHERS),
    ],
    asyncssh.encryption.get_encryption_algs(),
    _LEGACY_CIPHERS,
)
MAC_ALGS = _with_legacy(asyncssh.mac.get_default_mac_algs(), asyncssh.mac.get_mac_algs(), _LEGACY_MACS)
HOST_KEY_ALGS = _with_legacy(
    asyncssh.public_key.get_default_public_key_algs(),
    asyncssh.public_key.get_public_key_algs(),
    _LEGACY_HOST_KEYS,
)


@dataclass(frozen=True)
class SshEndpoint:
    """Where and as whom to log in, and which known_hosts file vouches for the node."""

    node: str  # the FQDN: the node's name in messages and known_hosts
    address: str
    port: int
    username: str
    known_hosts: Path
    trust_on_first_use: bool = False


@dataclass(frozen=True)
class ShellOptions:
    """Timings of the conversation; every one of them is a reason a real node was slow once."""

    banner_timeout: float = 120.0
    command_timeout: float = 120.0
    connect_timeout: float = 15.0
    #: Send a newline when the banner has been silent this long without a prompt; each further
    #: nudge waits twice as long, so a CLI that needs a minute to start gets a few, not dozens.
    nudge_after: float = 5.0
    #: Width is generous so that long rows (`show network cluster`) are not wrapped by the PTY.
    term_size: tuple[int, int] = (200, 50)
    keepalive_interval: float = 15.0
    #: How long a question must stay unanswered at the end of the output before it counts as asked.
    question_grace: float = 1.0
    #: The most one command may print (characters). The longest VOS output ucterm reads (a trust
    #: store listing, a certificate) is kilobytes; past this the session is closed and the command
    #: is that node's error.
    max_output: int = 8 * 1024 * 1024
    #: After more output followed a prompt, how long a lone prompt must stay quiet before the
    #: end-of-output check is sent again (the first one may have been read by a pager).
    end_check_grace: float = 2.0
    #: How many end-of-output checks one command may need before its output counts as untrustworthy.
    max_end_checks: int = 4


class _Dropped(Exception):
    """Internal: the channel ended or broke while reading or writing."""


class _OutOfStep(_Dropped):
    """Internal: the output cannot be tied to the command; the session must not be used further.

    `sent` says whether the command had been typed (if not, running it on a new session is safe
    whatever it does).
    """

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.sent = sent


class _Client(asyncssh.SSHClient):
    """asyncssh callbacks: host key verdict, password and keyboard-interactive answers, loss."""

    def __init__(self, endpoint: SshEndpoint, password: Callable[[], Secret]) -> None:
        self._endpoint = endpoint
        self._password = password
        self._password_sent = False
        self._kbdint_rounds = 0
        self.check: hostkeys.HostKeyCheck | None = None
        self.presented_key: asyncssh.SSHKey | None = None
        self.accepted_new_key = False
        self.auth_method: str | None = None
        self.lost: str | None = None

    # -- host key
    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        ep = self._endpoint
        self.presented_key = key
        self.check = hostkeys.check(ep.known_hosts, ep.node, ep.port, key, ep.address)
        if self.check.verdict == "trusted":
            return True
        if self.check.verdict == "unknown" and ep.trust_on_first_use:
            hostkeys.accept_host_key(ep.known_hosts, ep.node, ep.port, key, address=ep.address)
            self.accepted_new_key = True
            return True
        return False

    # -- authentication
    def public_key_auth_requested(self) -> None:
        return None

    def password_auth_requested(self) -> str | None:
        if self._password_sent:
            return None
        self._password_sent = True
        self.auth_method = "password"
        return self._password().reveal()

    def kbdint_auth_requested(self) -> str:
        return ""

    def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str] | None:
        if not prompts:
            return []
        self._kbdint_rounds += 1
        # Answer only the password prompt (§1.1 [VERIFIED: C-ctmcp answers the password prompt]);
        # anything else (a one-time code, a second round) is not ours to guess.
        if self._kbdint_rounds > 1 or len(prompts) != 1 or prompts[0][1]:
            return None
        self.auth_method = "keyboard-interactive"
        return [self._password().reveal()]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = str(exc) if exc else "the node closed the connection"


class VosShell:
    """The `admin:` shell of one node. One command at a time; connects on first use."""

    def __init__(
        self,
        endpoint: SshEndpoint,
        password: Callable[[], Secret],
        *,
        options: ShellOptions | None = None,
        sink: EventSink | None = None,
        limiter: ConnectionLimiter | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.options = options or ShellOptions()
        self._password = password
        self._sink = sink
        self._limiter = limiter
        self._lock = asyncio.Lock()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._proc: asyncssh.SSHClientProcess[str] | None = None
        self._client: _Client | None = None
        self._transcript = Transcript(endpoint.node, sink, channel="ssh", secrets=self._secrets)
        self._known_password: str | None = None
        self.connect_count = 0
        self.auth_method: str | None = None
        #: The SHA-256 fingerprint of the host key the node presented at the last login (verified
        #: against known_hosts, or accepted then), for the record of what ucterm talked to.
        self.host_key_fingerprint: str | None = None
        #: Whether a login of this shell accepted an unknown host key (trust_on_first_use): a
        #: headless scan must say so, since nobody checked the fingerprint.
        self.host_key_accepted = False
        self.pagination_off = False
        #: Why the last session ended (shown when reconnecting).
        self._end_reason: str | None = None

    def _secrets(self) -> tuple[str, ...]:
        return (self._known_password,) if self._known_password else ()

    def _password_for_login(self) -> Secret:
        secret = self._password()
        self._known_password = secret.reveal()
        return secret

    @property
    def node(self) -> str:
        return self.endpoint.node

    @property
    def connected(self) -> bool:
        return (
            self._conn is not None
            and self._proc is not None
            and self._client is not None
            and self._client.lost is None
            and not self._proc.stdout.at_eof()
        )

    async def _notice(self, message: str, level: Literal["info", "warning", "error"] = "info") -> None:
        await emit(self._sink, NodeNotice(node=self.node, message=message, level=level))

    # ----------------------------------------------------------------------------------------
    # Public API

    async def run(
        self,
        command: str,
        *,
        dialog: dlg.Dialog = dlg.NO_DIALOG,
        timeout: float | None = None,
        idempotent: bool = True,
    ) -> str:
        """Type `command`, answer its dialog, and return its output (cleaned, without echo/prompt).

        A read-only command (`idempotent`) that loses its session is run once more on a new
        session; any other raises :class:`SessionDropped`, because its effect is unknown.
        """
        limit = self.options.command_timeout if timeout is None else timeout
        async with self._lock:
            attempt = 0
            while True:
                attempt += 1
                async with maybe_slot(self._limiter):
                    if not self.connected:
                        await self._open()
                    try:
                        return await self._command(command, dialog, limit)
                    except _OutOfStep as exc:
                        reason, out_of_step, typed = str(exc), True, exc.sent
                    except _Dropped as exc:
                        reason, out_of_step, typed = str(exc), False, True
                await self._teardown(reason)
                # A command not typed yet may always run on a new session; a typed one only if it reads.
                retry = attempt == 1 and (idempotent or not typed)
                what = "its output could not be tied to it" if out_of_step else "SSH session dropped"
                if retry:
                    await self._notice(f"{what} during `{command}` ({reason}); reconnecting to run it again",
                                       "warning")
                    continue
                await self._notice(f"{what} during `{command}` ({reason})", "error")
                raise SessionDropped(self.node, command, reason)

    async def close(self) -> None:
        async with self._lock:
            await self._teardown()

    # ----------------------------------------------------------------------------------------
    # Connection

    async def _open(self) -> None:
        ep = self.endpoint
        if self.connect_count:
            reason = self._end_reason or "the session ended"
            await self._notice(f"reconnecting: the previous SSH session ended ({reason})", "warning")
        await self._teardown()
        client = _Client(ep, self._password_for_login)
        known = hostkeys.known_keys(ep.known_hosts, ep.node, ep.port, ep.address)
        preferred = [a.decode() for k in known for a in k.sig_algorithms]
        host_key_algs = list(dict.fromkeys([*preferred, *HOST_KEY_ALGS]))
        await self._transcript.info(f"connecting to {ep.address} port {ep.port} as {ep.username}")
        try:
            conn = await asyncio.wait_for(
                asyncssh.connect(
                    ep.address,
                    ep.port,
                    username=ep.username,
                    client_factory=lambda: client,
                    known_hosts=lambda _h, _a, _p: (known, [], []),
                    config=[],
                    agent_path=None,
                    client_keys=None,
                    public_key_auth=False,
                    password_auth=True,
                    kbdint_auth=True,
                    preferred_auth="password,keyboard-interactive",
                    kex_algs=KEX_ALGS,
                    encryption_algs=ENCRYPTION_ALGS,
                    mac_algs=MAC_ALGS,
                    server_host_key_algs=host_key_algs,
                    connect_timeout=self.options.connect_timeout,
                    login_timeout=self.options.connect_timeout + 30,
                    keepalive_interval=self.options.keepalive_interval,
                    keepalive_count_max=3,
                ),
                self.options.connect_timeout + 40,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise self._host_key_error(client, str(exc)) from None
        except asyncssh.PermissionDenied:
            await self._note_host_key(client)
            raise LoginRefused(self.node, ep.username) from None
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            if client.check is not None and client.check.verdict != "trusted" and not client.accepted_new_key:
                raise self._host_key_error(client, str(exc)) from None
            await self._note_host_key(client)
            raise Unreachable(self.node, ep.address, ep.port, _reason(exc)) from None
        self._conn, self._client = conn, client
        self.auth_method = client.auth_method
        self.connect_count += 1
        await self._note_host_key(client, conn)
        try:
            self._proc = await conn.create_process(
                term_type="vt100", term_size=self.options.term_size, encoding="utf-8", errors="replace"
            )
        except (asyncssh.Error, OSError) as exc:
            await self._teardown()
            raise Unreachable(self.node, ep.address, ep.port, f"no shell: {_reason(exc)}") from None
        await self._transcript.info(f"logged in ({client.auth_method or 'unknown method'}); waiting for the CLI")
        try:
            await self._wait_banner()
            out = await self._command("set cli pagination off", dlg.NO_DIALOG, self.options.command_timeout,
                                      after_banner=True)
        except _Dropped as exc:
            await self._teardown()
            raise Unreachable(self.node, ep.address, ep.port, f"the session ended during login: {exc}") from None
        except BaseException:
            await self._teardown()
            raise
        # §1.1 [VERIFIED: C-unicon settings.py] unicon sends this on connect; the pager handler stays anyway.
        self.pagination_off = pagination_off(out)
        if not self.pagination_off:
            await self._notice("`set cli pagination off` was not confirmed; pager prompts will be answered")
        if self.connect_count > 1:
            await self._notice("reconnected")

    async def _note_host_key(self, client: _Client, conn: asyncssh.SSHClientConnection | None = None) -> None:
        """Remember the key the node presented; say so when it was accepted unchecked (trust_on_first_use).

        The key is recorded in known_hosts before the login is even tried, so a login refused or
        dropped afterwards must not hide that it was accepted. A key known_hosts already trusts is
        verified by asyncssh without asking the client, so its fingerprint comes from the connection.
        """
        if client.check is None:
            key = conn.get_server_host_key() if conn is not None else None
            if key is not None:
                self.host_key_fingerprint = hostkeys.fingerprint(key)
            return
        self.host_key_fingerprint = client.check.fingerprint
        if client.accepted_new_key and not self.host_key_accepted:
            self.host_key_accepted = True
            await self._notice(
                f"recorded the new SSH host key {client.check.fingerprint} (trust_on_first_use) in "
                f"{self.endpoint.known_hosts}",
                "warning",
            )

    def _host_key_error(self, client: _Client, detail: str) -> Exception:
        ep = self.endpoint
        check, key = client.check, client.presented_key
        if check is None or key is None:
            return Unreachable(self.node, ep.address, ep.port, f"host key not verifiable: {detail}")
        if check.verdict == "changed":
            return HostKeyChanged(
                ep.node, ep.port, check.fingerprint, list(check.known_fingerprints), str(ep.known_hosts)
            )
        return HostKeyUnknown(
            check.fingerprint, ep.node, ep.port, key, address=ep.address, known_hosts=str(ep.known_hosts)
        )

    async def _teardown(self, reason: str | None = None) -> None:
        proc, conn = self._proc, self._conn
        if conn is not None:
            lost = self._client.lost if self._client is not None else None
            self._end_reason = reason or lost or "closed by ucterm"
        self._proc = self._conn = None
        await self._transcript.flush()
        if proc is not None:
            proc.close()
        if conn is not None:
            conn.close()
            with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
                await asyncio.wait_for(conn.wait_closed(), 2)

    async def _wait_banner(self) -> None:
        """Wait for the first `admin:` prompt: the CLI can take a minute to start (§1.1 [VERIFIED: C-netSSL])."""
        try:
            nudged = await self._converse(None, dlg.NO_DIALOG, self.options.banner_timeout, nudge=True)
        except _Timeout:
            await self._teardown()
            raise BannerTimeout(self.node, self.options.banner_timeout) from None
        if nudged.nudges:
            # A nudge typed while the CLI started may come back as extra prompts: let them arrive.
            for _ in range(50):
                if await self._read(0.3) is None:
                    break

    # ----------------------------------------------------------------------------------------
    # The conversation

    async def _write(self, data: str, shown: str | None = None) -> None:
        assert self._proc is not None
        await self._transcript.flush()
        await self._transcript.sent(data if shown is None else shown)
        try:
            self._proc.stdin.write(data)
        except (asyncssh.Error, OSError, BrokenPipeError) as exc:
            raise _Dropped(_reason(exc)) from None

    async def _read(self, timeout: float) -> str | None:
        """Up to 64 KiB of output, None after `timeout` seconds of silence; _Dropped at end of stream."""
        assert self._proc is not None
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races
            # with a finished read (CPython gh-86296), which would lose a TUI abort or a Ctrl+C.
            async with asyncio.timeout(max(timeout, 0.001)):
                data = await self._proc.stdout.read(65536)
        except TimeoutError:
            return None
        except (asyncssh.Error, OSError) as exc:
            raise _Dropped(_reason(exc)) from None
        if not data:
            reason = self._client.lost if self._client and self._client.lost else "the node closed the session"
            raise _Dropped(reason)
        await self._transcript.received(data)
        return data

    async def _check_quiet(self, command: str, *, after_banner: bool = False) -> None:
        """Before typing `command`: nothing but prompts may have arrived since the last command ended.

        Anything else is output nobody asked for (the rest of an earlier command, a broadcast):
        typing now would make it this command's output, so the session is given up instead. Right
        after the banner there is no earlier command to confuse: late banner lines are only read
        (they stay in the transcript), since the command's output starts after its own echo.
        """
        leftover = CommandOutput(self.options.max_output)
        try:
            while (data := await self._read(0)) is not None:
                leftover.feed(data)
        except OutputLimit:
            raise _OutOfStep("endless output before the command was typed", sent=False) from None
        if leftover.content_seq and not after_banner:
            await self._transcript.flush()
            raise _OutOfStep("output arrived after the previous command had ended", sent=False)

    async def _command(self, command: str, dialog: dlg.Dialog, timeout: float, *, after_banner: bool = False) -> str:
        await self._check_quiet(command, after_banner=after_banner)
        await self._write(command + "\n")
        try:
            result = await self._converse(command, dialog, timeout, nudge=False)
        except _Timeout:
            await self._notice(f"`{command}` timed out after {timeout:g} s; closing the session", "error")
            await self._teardown(f"`{command}` timed out")
            raise CommandTimeout(self.node, command, timeout) from None
        except _TooMuch:
            await self._notice(f"`{command}` printed more than {self.options.max_output:,} characters; "
                               "closing the session", "error")
            await self._teardown(f"`{command}` printed too much")
            raise OutputTooLarge(self.node, command, self.options.max_output) from None
        except _Unanswered as exc:
            await self._cancel(command)
            raise VosCommandError(
                self.node,
                command,
                f'asked "{exc.question}", which ucterm has no answer for; it was cancelled with Ctrl+C '
                "and nothing was confirmed: run the step by hand if the question is expected.",
                exc.output,
            ) from None
        await self._transcript.flush()
        return _output_of(command, result.text)

    async def _cancel(self, command: str) -> None:
        await self._write("\x03", "<Ctrl+C>")
        try:
            await self._converse(None, dlg.NO_DIALOG, 10.0, nudge=False, questions=False)
        except (_Timeout, _Unanswered, _TooMuch):
            await self._teardown()

    async def _converse(
        self, command: str | None, dialog: dlg.Dialog, timeout: float, *, nudge: bool, questions: bool = True
    ) -> _Conversation:
        """Read until the output ends (see the module docstring), answering pagers and `dialog`.

        `command` None (the banner, after Ctrl+C) ends at the first prompt. Otherwise the prompt
        counts only after the command's echo (a nudge typed for a slow banner can come back as a
        stray prompt just after a command was sent), and then only once the end-of-output check
        was answered.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        conv = _Conversation(CommandOutput(self.options.max_output))
        out = conv.output
        used: set[int] = set()
        fresh = True
        quiet_since = loop.time()
        question_since: float | None = None
        echo = Cursor()
        steps = Cursor()
        echo_seen = command is None or not command.strip()
        while True:
            if fresh:
                fresh = False
                answer = _pager_answer(out.tail)
                if answer is not None:
                    steps = out.cursor_at_line_start()
                    await self._write(answer, "<space> (next page)" if answer == " " else f"<{answer}> (pager)")
                    continue
                window = out.take(steps) if dialog.steps else ""
                step = next(
                    (i for i, s in enumerate(dialog.steps) if (s.repeat or i not in used) and s.pattern.search(window)),
                    None,
                )
                if step is not None:
                    used.add(step)
                    steps = out.cursor_here()
                    await self._write(dialog.steps[step].answer + "\n")
                    continue
                if not echo_seen:
                    echo_seen = command is not None and command.strip() in out.take(echo)
                if echo_seen and out.ends_with_prompt():
                    if command is None:
                        return conv
                    if conv.check is None:
                        await self._end_check(conv)
                        continue
                    if conv.check.answered(out):
                        return conv
                if questions and dlg.QUESTION_RE.search(out.end_from(steps)):
                    question_since = loop.time()
            now = loop.time()
            if question_since is not None and now - question_since >= self.options.question_grace:
                line = out.tail.strip() if dlg.QUESTION_RE.search(out.end_from(steps)) else "a question"
                raise _Unanswered(line, out.text())
            remaining = deadline - now
            if remaining <= 0:
                raise _Timeout()
            wait = remaining
            nudge_wait = self.options.nudge_after * (2**conv.nudges)
            if nudge:
                wait = min(wait, max(0.05, nudge_wait - (now - quiet_since)))
            if question_since is not None:
                wait = min(wait, self.options.question_grace)
            recheck = conv.check is not None and conv.check.may_repeat(out) and out.ends_with_prompt()
            if recheck:
                wait = min(wait, max(0.01, self.options.end_check_grace - (now - quiet_since)))
            data = await self._read(wait)
            if data is None:
                if nudge and loop.time() - quiet_since >= nudge_wait:
                    conv.nudges += 1
                    await self._write("\n", "<Enter> (no prompt yet: nudging the CLI)")
                    quiet_since = loop.time()
                elif recheck and loop.time() - quiet_since >= self.options.end_check_grace:
                    await self._end_check(conv)
                    quiet_since = loop.time()
                continue
            try:
                out.feed(data)
            except OutputLimit:
                raise _TooMuch() from None
            fresh = True
            quiet_since = loop.time()
            question_since = None

    async def _end_check(self, conv: _Conversation) -> None:
        """Send the empty line whose prompt proves the output is over (see the module docstring)."""
        checks = conv.check.sent + 1 if conv.check is not None else 1
        if checks > self.options.max_end_checks:
            raise _OutOfStep(
                f"{checks - 1} times more output followed what looked like the CLI's prompt", sent=True
            )
        conv.check = _EndCheck(conv.output.content_seq, conv.output.trailing_prompts(), checks)
        await self._write("\n", "<Enter> (end-of-output check)")


@dataclass
class _EndCheck:
    """The state of the output when an end-of-output check was sent."""

    content_seq: int
    prompts: int
    sent: int

    def answered(self, out: CommandOutput) -> bool:
        """A prompt arrived after the check with only prompts since: two of them at least, the one
        that ended the output and the one that answered the empty line."""
        count = out.trailing_prompts()
        if out.content_seq != self.content_seq:
            return count >= 2
        return count > self.prompts and count >= 2

    def may_repeat(self, out: CommandOutput) -> bool:
        """More output came after the check: the check may have been read by it (a pager key)."""
        return out.content_seq != self.content_seq


@dataclass
class _Conversation:
    output: CommandOutput
    nudges: int = 0
    check: _EndCheck | None = None

    @property
    def text(self) -> str:
        return self.output.text()


class _Timeout(Exception):
    pass


class _TooMuch(Exception):
    pass


class _Unanswered(Exception):
    def __init__(self, question: str, output: str) -> None:
        super().__init__(question)
        self.question = question
        self.output = output


def _pager_answer(tail: str) -> str | None:
    if dlg.PAGER_MORE_RE.search(tail):
        return " "
    m = dlg.PAGER_LESS_RE.search(tail)
    if m:
        return "q" if m.group(2) == m.group(3) else "n"
    return None


_PROMPT_LINE_RE = re.compile(r"(?:admin:[ \t]*)+")


def _output_of(command: str, cleaned: str) -> str:
    """The command's output: after its echo line, before the final prompts, pager lines removed."""
    lines = cleaned.split("\n")
    start = 0
    stripped = command.strip()
    for i, line in enumerate(lines):
        if stripped and stripped in line:
            start = i + 1
            break
    body = lines[start:]
    # The final prompts: the one that ended the output and the one that answered the end check.
    while body and (not body[-1].strip() or _PROMPT_LINE_RE.fullmatch(body[-1].strip())):
        body = body[:-1]
    kept: list[str] = []
    for line in body:
        if dlg.PAGER_LINE_RE.match(line):
            # The less-style pager starts with its own line break (§1.1 C-unicon `\x1b[1m\r\noptions`).
            if kept and not kept[-1].strip():
                kept.pop()
            continue
        kept.append(line)
    if start == 0:
        kept = [ln for ln in kept if ln.strip() != "admin:"]
    return "\n".join(kept).strip("\n")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or type(exc).__name__
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)

