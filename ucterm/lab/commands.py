"""The VOS CLI commands the lab understands: grammar, and one handler per command.

Handlers talk to the session through :class:`Terminal` (lines out, questions, pastes, paged
output) and to the node through its methods, so they hold no I/O of their own. Matching follows
VOS: keywords are case-insensitive, the longest known command wins, a known prefix is
"incomplete", anything else is invalid (texts INFERRED, see :mod:`ucterm.lab.texts`).
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ucterm import catalog
from ucterm.lab import texts, views
from ucterm.lab.errors import VosError
from ucterm.lab.node import LabNode

Pager = Literal["more", "less"]


class Terminal(Protocol):
    """What a command handler may do with the SSH session it runs in."""

    node: LabNode
    pagination: bool

    async def emit(self, line: str) -> None:
        """Write one output line now (streamed, never paged)."""

    async def show(self, lines: list[str], pager: Pager = "more") -> None:
        """Write a command's output, paged when longer than the terminal."""

    async def ask(self, prompt: str) -> str:
        """Write a question and read the answer line (echoed)."""

    async def paste(self, prompt: str) -> str:
        """Write the prompt, then read pasted lines until an empty line."""


Handler = Callable[[Terminal, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    handler: Handler
    params: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    #: The last parameter takes every remaining word (service names have spaces).
    rest: bool = False

    @property
    def usage(self) -> str:
        return " ".join([*self.words, *(f"<{p}>" for p in self.params), *(f"[{p}]" for p in self.optional)])


# --------------------------------------------------------------------------------------------
# Handlers


async def _yes_no(term: Terminal, prompt: str) -> bool:
    while True:  # VOS asks again until it gets yes or no [INFERRED]
        answer = (await term.ask(prompt)).strip().lower()
        if answer in ("yes", "y"):
            return True
        if answer in ("no", "n"):
            return False


async def show_version(term: Terminal, args: list[str]) -> None:
    await term.show(views.version_active(term.node))


async def show_network_cluster(term: Terminal, args: list[str]) -> None:
    await term.show(views.network_cluster(term.node))


async def show_web_security(term: Terminal, args: list[str]) -> None:
    await term.show(views.web_security(term.node))


async def set_web_security(term: Terminal, args: list[str]) -> None:
    country = args[4] if len(args) > 4 else None
    alternate = args[5] if len(args) > 5 else None
    await term.show(list(term.node.set_web_security(args[0], args[1], args[2], args[3], country, alternate)))


async def show_pagination(term: Terminal, args: list[str]) -> None:
    await term.show([texts.SHOW_PAGINATION.format(state="On" if term.pagination else "Off")])


async def set_pagination(term: Terminal, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("on", "off"):
        raise VosError(texts.INCOMPLETE_USAGE.format(usage="set cli pagination <on|off>"), texts.COMMAND_FAILED)
    term.pagination = value == "on"
    await term.show([texts.PAGINATION_ON if term.pagination else texts.PAGINATION_OFF])


async def show_cert_list(term: Terminal, args: list[str]) -> None:
    kind = args[0].lower()
    if kind == "inuse":
        kind = "own"
    if kind not in ("own", "trust"):
        raise VosError(texts.INVALID_COMMAND.format(line=f"show cert list {args[0]}"), texts.COMMAND_FAILED)
    # The trust list is the one long listing; VOS shows it in its less-like pager (§1.1).
    await term.show(views.cert_list(term.node, kind), pager="less" if kind == "trust" else "more")


async def show_cert_own(term: Terminal, args: list[str]) -> None:
    await term.show(views.cert_own(term.node, args[0]))


async def show_cert_trust(term: Terminal, args: list[str]) -> None:
    await term.show(views.cert_trust(term.node, args[0]))


async def set_csr_gen(term: Terminal, args: list[str]) -> None:
    node = term.node
    unit = node.unit(args[0])
    include_ou: bool | None = None
    if catalog.csr_gen_asks_ou(node.vos_version):
        include_ou = await _yes_no(term, texts.CSR_ASK_OU + " ")
    # The key is made off the event loop, so that this node's CSR does not stall the others' sessions.
    node.generate_csr(unit, include_ou=include_ou, key=await node.new_csr_key(unit))
    await term.show([texts.CSR_GENERATED.format(unit=unit)])


async def show_csr_list(term: Terminal, args: list[str]) -> None:
    if args[0].lower() != "own":
        raise VosError(texts.INVALID_COMMAND.format(line=f"show csr list {args[0]}"), texts.COMMAND_FAILED)
    await term.show(views.csr_list(term.node))


async def show_csr_own(term: Terminal, args: list[str]) -> None:
    await term.show(views.csr_own(term.node, args[0]))


async def set_cert_import(term: Terminal, args: list[str]) -> None:
    node = term.node
    kind = args[0].lower()
    if kind not in ("own", "trust"):
        raise VosError(texts.INVALID_COMMAND.format(line=f"set cert import {args[0]}"), texts.COMMAND_FAILED)
    unit = node.unit(args[1])  # the service name, not the store name (§1.7)
    text = await term.paste(texts.IMPORT_PASTE)
    if kind == "own":
        result = node.import_identity(unit, text, via="cli", ca_cert=args[2] if len(args) > 2 else None)
    else:
        result = node.import_trust(unit, text, via="cli")
    await term.show(list(result.lines))


async def set_cert_regen(term: Terminal, args: list[str]) -> None:
    node = term.node
    unit = node.unit(args[0])
    await term.emit(texts.REGEN_WARNING.format(unit=unit))
    if await _yes_no(term, texts.REGEN_CONFIRM):
        await term.show(list(node.regenerate(unit)))


async def utils_service_list(term: Terminal, args: list[str]) -> None:
    await term.show(views.service_list(term.node))


async def utils_service_restart(term: Terminal, args: list[str]) -> None:
    node = term.node
    service = node.service(" ".join(args))
    for line in texts.RESTART_HEAD:
        await term.emit(line)
    await node.restart_service(service.name, progress=term.emit)


async def utils_service_start(term: Terminal, args: list[str]) -> None:
    service = term.node.service(" ".join(args))
    await term.emit(texts.RESTART_HEAD[1])
    await term.node.start_service(service.name, progress=term.emit)


async def utils_service_stop(term: Terminal, args: list[str]) -> None:
    service = term.node.service(" ".join(args))
    await term.emit(texts.RESTART_HEAD[1])
    await term.node.stop_service(service.name, progress=term.emit)


async def utils_ha_status(term: Terminal, args: list[str]) -> None:
    await term.show(views.ha_status(term.node))


COMMANDS: tuple[Command, ...] = (
    Command(("show", "version", "active"), show_version),
    Command(("show", "network", "cluster"), show_network_cluster),
    Command(("show", "web-security"), show_web_security),
    Command(("set", "web-security"), set_web_security, ("orgunit", "orgname", "locality", "state"),
            ("country", "alternatehostname")),
    Command(("show", "cli", "pagination"), show_pagination),
    Command(("set", "cli", "pagination"), set_pagination, ("on|off",)),
    Command(("show", "cert", "list"), show_cert_list, ("own|trust",)),
    Command(("show", "cert", "own"), show_cert_own, ("unit",)),
    Command(("show", "cert", "trust"), show_cert_trust, ("store/file",)),
    Command(("set", "csr", "gen"), set_csr_gen, ("unit",)),
    Command(("show", "csr", "list"), show_csr_list, ("own",)),
    Command(("show", "csr", "own"), show_csr_own, ("unit",)),
    Command(("set", "cert", "import"), set_cert_import, ("own|trust", "unit"), ("caCert",)),
    Command(("set", "cert", "regen"), set_cert_regen, ("unit",)),
    Command(("utils", "service", "list"), utils_service_list),
    Command(("utils", "service", "restart"), utils_service_restart, ("service name",), rest=True),
    Command(("utils", "service", "start"), utils_service_start, ("service name",), rest=True),
    Command(("utils", "service", "stop"), utils_service_stop, ("service name",), rest=True),
    Command(("utils", "ha", "status"), utils_ha_status),
)


# --------------------------------------------------------------------------------------------
# Matching


@dataclass(frozen=True)
class Parsed:
    command: Command | None
    args: list[str]
    #: Lines to print instead of running a command (invalid / incomplete input).
    error: tuple[str, ...] = ()


def tokenize(line: str) -> list[str]:
    """Split on blanks; quotes group multi-word values (`set web-security "My Unit" ...`)."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def parse(line: str) -> Parsed:
    tokens = tokenize(line)
    lowered = [t.lower() for t in tokens]
    best: Command | None = None
    for command in COMMANDS:
        n = len(command.words)
        if lowered[:n] == list(command.words) and (best is None or n > len(best.words)):
            best = command
    if best is None:
        following = sorted({c.words[len(lowered)] for c in COMMANDS
                            if len(c.words) > len(lowered) and list(c.words[:len(lowered)]) == lowered})
        if lowered and following:
            return Parsed(None, [], (texts.INCOMPLETE_COMMAND, *(f"  {w}" for w in following),
                                     texts.COMMAND_FAILED))
        return Parsed(None, [], (texts.INVALID_COMMAND.format(line=" ".join(tokens)), texts.COMMAND_FAILED))
    args = tokens[len(best.words):]
    if len(args) < len(best.params):
        return Parsed(None, [], (texts.INCOMPLETE_USAGE.format(usage=best.usage), texts.COMMAND_FAILED))
    if not best.rest and len(args) > len(best.params) + len(best.optional):
        return Parsed(None, [], (texts.TOO_MANY_ARGUMENTS.format(usage=best.usage), texts.COMMAND_FAILED))
    return Parsed(best, args)
