"""Faults a test (or a rehearsal) can inject into a running node: the ways real sessions fail.

A jumpbox session drops mid-command, a command never gives the prompt back, the CLI takes a
minute to start, a command fails or prints a certificate that does not parse, certmgr answers an
error for one unit, an overloaded Tomcat trickles its answers, a node is down. Each is armed on
:attr:`LabNode.faults` (a node being down is :meth:`LabEstate.take_down` /
:meth:`LabEstate.bring_up`, since it closes sockets); command faults act on the next matching
command of any SSH session to that node, a certmgr fault on the next matching certmgr request, the
HTTPS trickle on every answer until cleared. One :class:`CommandFault` may be armed on several
nodes (:meth:`NodeFaults.arm`): it then fires on whichever node reaches it first, `times` in all.
A firewall that refuses one port between the client and a node (only 22 and 8443 open is common)
is :meth:`LabEstate.filter_port`.

:class:`Received` is the other half: a tally of what reached the node (SSH sessions, CLI
commands, connections per port, certmgr requests), so a test can say how a client read it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

#: `drop`: the TCP connection closes; `hang`: the prompt never comes back; `fail`: the command
#: prints VOS's failure text instead of its output; `garble`: the command runs, but the base64 of
#: every PEM block it prints is damaged (a certificate that cannot be parsed).
CommandFaultKind = Literal["drop", "hang", "fail", "garble"]


def starts_with(line: str, command: str) -> bool:
    """Whether a typed line is `command` (or longer), case and spacing ignored as VOS ignores them."""
    return " ".join(line.lower().split()).startswith(" ".join(command.lower().split()))


@dataclass(eq=False)
class CommandFault:
    """Act on the next command starting with `command` (any command if None).

    `after_lines` output lines are written first (0: right after the command is read; drop and
    hang only). `times` is how many commands it applies to (None: every one until cleared).
    """

    kind: CommandFaultKind
    command: str | None = None
    after_lines: int = 0
    times: int | None = 1
    fired: int = 0

    def matches(self, line: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return self.command is None or starts_with(line, self.command)


@dataclass(eq=False)
class RestFault:
    """Answer certmgr requests with `status` and `message` instead of serving them.

    `route` is the path under `/platformcom/api/v1/certmgr/config/` (`snapshot/server`,
    `trust/certificate`, ...; None: every route); `service` limits it to requests naming that
    service or trust store (query `service=` or the JSON body's `service`).
    """

    status: int
    route: str | None = None
    service: str | None = None
    message: str = "Internal server error"
    times: int | None = None
    fired: int = 0

    def matches(self, route: str, services: tuple[str, ...]) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.route is not None and self.route.strip("/") != route:
            return False
        return self.service is None or self.service.lower() in (s.lower() for s in services)


@dataclass
class Received:
    """What reached a node since the estate started (or since :meth:`clear`): not a fault, a tally."""

    #: `admin:` shell sessions started (one per SSH login that got a shell).
    ssh_sessions: int = 0
    #: Every command line the CLI read, in order.
    commands: list[str] = field(default_factory=list)
    #: Connections accepted, by port name (`ssh`, `https`, `sip_tls`, ...).
    connections: Counter[str] = field(default_factory=Counter)
    #: certmgr requests, `GET snapshot/server` (method and route, no query).
    rest: list[str] = field(default_factory=list)

    def count(self, command: str) -> int:
        """How many commands started with `command` (case and spacing as VOS matches them)."""
        return sum(1 for line in self.commands if starts_with(line, command))

    def clear(self) -> None:
        self.ssh_sessions = 0
        self.commands.clear()
        self.connections.clear()
        self.rest.clear()


@dataclass
class NodeFaults:
    """The faults armed on one node."""

    #: Overrides the profile's banner delay (seconds) for new sessions.
    banner_delay: float | None = None
    #: The OS administrator's password was changed on the node: SSH and certmgr refuse the lab's.
    logins_refused: bool = False
    commands: list[CommandFault] = field(default_factory=list)
    rest: list[RestFault] = field(default_factory=list)
    #: Seconds between the pieces of every HTTPS answer (None: answers go out at once).
    https_trickle: float | None = None
    #: Bytes per piece when trickling.
    https_trickle_bytes: int = 16

    def arm(self, fault: CommandFault) -> CommandFault:
        """Arm a fault made elsewhere (the same one may be armed on several nodes)."""
        self.commands.append(fault)
        return fault

    def drop_connection(self, command: str | None = None, *, after_lines: int = 1,
                        times: int | None = 1) -> CommandFault:
        """Close the TCP connection abruptly after `after_lines` lines of the command's output."""
        return self.arm(CommandFault("drop", command, after_lines, times))

    def hang(self, command: str | None = None, *, after_lines: int = 0, times: int | None = 1) -> CommandFault:
        """Write `after_lines` lines, then never return the prompt (the session stays open)."""
        return self.arm(CommandFault("hang", command, after_lines, times))

    def fail_command(self, command: str | None = None, *, times: int | None = 1) -> CommandFault:
        """The command prints `Executed command unsuccessfully` instead of its output."""
        return self.arm(CommandFault("fail", command, times=times))

    def garble_pem(self, command: str | None = None, *, times: int | None = 1) -> CommandFault:
        """The command's PEM blocks come out with damaged base64 (e.g. `show cert own CallManager`)."""
        return self.arm(CommandFault("garble", command, times=times))

    def rest_error(self, status: int, *, route: str | None = None, service: str | None = None,
                   message: str | None = None, times: int | None = None) -> RestFault:
        """certmgr answers `status` with `{"message": ...}` for the matching requests."""
        fault = RestFault(status, route, service, message or f"Request failed with status {status}", times)
        self.rest.append(fault)
        return fault

    def slow_banner(self, seconds: float) -> None:
        self.banner_delay = seconds

    def refuse_logins(self, refused: bool = True) -> None:
        """As if the OS administrator's password had been changed on the node (SSH and certmgr)."""
        self.logins_refused = refused

    def trickle_https(self, seconds: float, piece: int = 16) -> None:
        """Send every HTTPS answer (certmgr, Control Center, AXL) `piece` bytes at a time, `seconds` apart:
        a Tomcat short of threads or memory does this, and each read arrives well within any read
        timeout, so only a deadline on the whole request ends the wait."""
        self.https_trickle = seconds
        self.https_trickle_bytes = max(1, piece)

    def clear(self) -> None:
        self.banner_delay = None
        self.logins_refused = False
        self.https_trickle = None
        self.commands.clear()
        self.rest.clear()

    def take(self, line: str) -> CommandFault | None:
        """The fault that applies to this command line, counted as fired."""
        for fault in self.commands:
            if fault.matches(line):
                fault.fired += 1
                return fault
        return None

    def take_rest(self, route: str, services: tuple[str, ...]) -> RestFault | None:
        """The certmgr fault that applies to this request, counted as fired."""
        for fault in self.rest:
            if fault.matches(route, services):
                fault.fired += 1
                return fault
        return None
