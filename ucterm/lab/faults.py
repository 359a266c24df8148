"""Faults a test can inject into a running node: the ways real sessions fail.

A jumpbox session drops mid-command, a command never gives the prompt back, the CLI takes a
minute to start, a node is down, an overloaded Tomcat trickles its answers. Each is armed on
:attr:`LabNode.faults` (a node being down is :meth:`LabEstate.take_down` /
:meth:`LabEstate.bring_up`, since it closes sockets); command faults act on the next matching
command of any SSH session to that node, the HTTPS one on every answer until cleared. A firewall
that refuses one port between the client and a node (only 22 and 8443 open is common) is
:meth:`LabEstate.filter_port`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class CommandFault:
    """Act on the next command starting with `command` (any command if None).

    `after_lines` output lines are written first (0: right after the command is read). `times`
    is how many commands it applies to (None: every one until cleared).
    """

    kind: Literal["drop", "hang"]
    command: str | None = None
    after_lines: int = 0
    times: int | None = 1
    fired: int = 0

    def matches(self, line: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.command is None:
            return True
        return " ".join(line.lower().split()).startswith(" ".join(self.command.lower().split()))


@dataclass
class NodeFaults:
    """The faults armed on one node."""

    #: Overrides the profile's banner delay (seconds) for new sessions.
    banner_delay: float | None = None
    commands: list[CommandFault] = field(default_factory=list)
    #: Seconds between the pieces of every HTTPS answer (None: answers go out at once).
    https_trickle: float | None = None
    #: Bytes per piece when trickling.
    https_trickle_bytes: int = 16

    def drop_connection(self, command: str | None = None, *, after_lines: int = 1,
                        times: int | None = 1) -> CommandFault:
        """Close the TCP connection abruptly after `after_lines` lines of the command's output."""
        fault = CommandFault("drop", command, after_lines, times)
        self.commands.append(fault)
        return fault

    def hang(self, command: str | None = None, *, after_lines: int = 0, times: int | None = 1) -> CommandFault:
        """Write `after_lines` lines, then never return the prompt (the session stays open)."""
        fault = CommandFault("hang", command, after_lines, times)
        self.commands.append(fault)
        return fault

    def slow_banner(self, seconds: float) -> None:
        self.banner_delay = seconds

    def trickle_https(self, seconds: float, piece: int = 16) -> None:
        """Send every HTTPS answer (certmgr, Control Center, AXL) `piece` bytes at a time, `seconds` apart:
        a Tomcat short of threads or memory does this, and each read arrives well within any read
        timeout, so only a deadline on the whole request ends the wait."""
        self.https_trickle = seconds
        self.https_trickle_bytes = max(1, piece)

    def clear(self) -> None:
        self.banner_delay = None
        self.https_trickle = None
        self.commands.clear()

    def take(self, line: str) -> CommandFault | None:
        """The fault that applies to this command line, counted as fired."""
        for fault in self.commands:
            if fault.matches(line):
                fault.fired += 1
                return fault
        return None
