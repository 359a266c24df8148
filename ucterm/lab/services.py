"""One node's Service Manager: its services, their status, and restart/start/stop as VOS does them.

Separate from the node's certificate state (:mod:`ucterm.lab.node`) because the two meet at one
point only: a service that reaches STARTED begins to serve the identities installed for its
units. The node passes that as `on_started`; everything else here is services and time:

- operations run on tasks of the Service Manager, not of the caller: a client that goes away
  mid-operation (a dropped SSH session, an HTTP client that hangs up) does not stop the restart,
  and `LabEstate.stop()` cancels them (:meth:`ServiceManager.cancel_tasks`);
- every status change is announced to :meth:`ServiceManager.watch` listeners, which is how the
  TLS layer closes the connections of a restarted process at once instead of polling;
- status lines repeat, as VOS prints them (§1.9 [VERIFIED: Cisco doc sample]);
- with IM&P High Availability on, cup/XCP service restarts never leave `[STARTING]` (§3.4,
  S-IMP-SVC), which `blocked` decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from ucterm.lab import texts
from ucterm.lab.clock import LabClock
from ucterm.lab.errors import VosError
from ucterm.lab.profiles import Profile

__all__ = ["Progress", "RestartResult", "Service", "ServiceListener", "ServiceManager", "ServiceStatus"]

log = logging.getLogger(__name__)

T = TypeVar("T")
ServiceStatus = Literal["STARTED", "STOPPED", "STARTING", "STOPPING"]
Progress = Callable[[str], Awaitable[None]]


@dataclass
class Service:
    """One Service Manager service of a node.

    Assigning `status` tells `on_change` (the manager's notification, :meth:`ServiceManager.watch`)
    whenever the value changes, whoever assigns it: the manager's operations, the estate builder,
    or a test that stops a service by hand. That is what lets open TLS connections of a restarted
    service be closed at once.
    """

    name: str
    status: ServiceStatus = "STARTED"
    activated: bool = True
    commanded_out: bool = False
    #: True while an HA-blocked restart keeps it in STARTING.
    stuck: bool = False
    generation: int = 0
    #: When the service last reached STARTED (Control Center's StartTime/UpTime); None while not started.
    started_at: datetime | None = None
    on_change: Callable[[Service], None] | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: object) -> None:
        before = self.__dict__.get(name, _UNSET)
        object.__setattr__(self, name, value)
        if name == "status" and before is not _UNSET and before != value:
            listener = self.__dict__.get("on_change")  # unset while the dataclass __init__ runs
            if listener is not None:
                listener(self)


_UNSET = object()
#: Told of a service whose status just changed (see ServiceManager.watch).
ServiceListener = Callable[[Service], None]


@dataclass(frozen=True)
class RestartResult:
    service: str
    #: The service's status when the command gave the prompt back.
    status: ServiceStatus
    printed_started: bool
    stuck: bool = False


class ServiceManager:
    """The services of one node (see the module docstring)."""

    def __init__(self, names: Iterable[str], *, product: str, profile: Callable[[], Profile], clock: LabClock,
                 up_since: datetime, node: str, on_started: Callable[[Service], None],
                 blocked: Callable[[str], bool], tomcat_started_late: Callable[[], bool]) -> None:
        self.product = product
        #: The node's timing profile, asked at each operation (tests and rehearsals change it live).
        self._profile = profile
        self.clock = clock
        self._node = node
        self._on_started = on_started
        self._blocked = blocked
        self._tomcat_started_late = tomcat_started_late
        self._services: dict[str, Service] = {
            n: Service(n, started_at=up_since, on_change=self._changed) for n in names}
        self._listeners: dict[int, ServiceListener] = {}
        self._next_listener = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def profile(self) -> Profile:
        return self._profile()

    # ---- looking up ----------------------------------------------------------------------------

    def all(self) -> list[Service]:
        return list(self._services.values())

    def __contains__(self, name: object) -> bool:
        return name in self._services

    def status_of(self, name: str) -> ServiceStatus | None:
        service = self._services.get(name)
        return service.status if service is not None else None

    def get(self, name: str) -> Service:
        """The service by its name, case and spacing as users type it (`utils service restart cisco  tomcat`)."""
        wanted = " ".join(name.split()).lower()
        for service in self._services.values():
            if service.name.lower() == wanted:
                return service
        raise VosError(texts.SERVICE_UNKNOWN.format(name=name), texts.COMMAND_FAILED)

    def _activated(self, name: str) -> Service:
        service = self.get(name)
        if not service.activated:
            raise VosError(texts.SERVICE_INACTIVE.format(name=service.name), texts.COMMAND_FAILED)
        return service

    # ---- notification -------------------------------------------------------------------------

    def watch(self, listener: ServiceListener) -> Callable[[], None]:
        """Call `listener(service)` after every status change of one of these services.

        The TLS layer registers one per open connection, so that a restart closes the connections
        of the old process the moment it begins (as a real process exit does) rather than at the
        next poll. Listeners run synchronously inside the change and must not block. Returns the
        function that unregisters the listener (safe to call twice).
        """
        token = self._next_listener
        self._next_listener += 1
        self._listeners[token] = listener

        def unwatch() -> None:
            self._listeners.pop(token, None)

        return unwatch

    def _changed(self, service: Service) -> None:
        """A service's status changed (Service.on_change): keep started_at right, tell the listeners."""
        if service.status != "STARTED":
            service.started_at = None
        elif service.started_at is None:  # set STARTED by hand rather than by mark_started
            service.started_at = self.clock.now()
        for listener in list(self._listeners.values()):
            try:
                listener(service)
            except Exception:  # one broken listener must not break a restart or the others
                log.exception("lab %s: service listener failed for %s", self._node, service.name)

    # ---- tasks ----------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _on_node(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run an operation on a task of the manager and wait for it.

        The operation outlives a caller that goes away (a dropped SSH session, an HTTP client that
        hangs up, a SOAP request answered after CONTROL_WAIT): cancelling the caller only stops the
        waiting. `LabEstate.stop()` cancels the operation itself (cancel_tasks).
        """
        return await asyncio.shield(self._spawn(coro))

    def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # ---- operations ------------------------------------------------------------------------------

    def mark_started(self, service: Service) -> None:
        """The service is up: it serves the installed identities of its units from now on."""
        self._on_started(service)
        service.commanded_out = False
        service.stuck = False
        service.started_at = self.clock.now()
        service.status = "STARTED"  # last: listeners see the new served identities and start time

    async def restart(self, name: str, progress: Progress | None = None) -> RestartResult:
        """`utils service restart <name>`, streaming its status lines through `progress`."""
        service = self._activated(name)
        return await self._on_node(self._restart(service, _Reporter(progress)))

    async def _restart(self, service: Service, say: _Reporter) -> RestartResult:
        service.generation += 1
        generation = service.generation
        duration = self.profile.restart_duration(self.product, service.name)
        interval = self.profile.status_interval
        service.status = "STOPPING"
        await say.repeat(f"{service.name}[STOPPING]", duration * 0.3, interval)
        service.status = "STARTING"
        await say.repeat(f"{service.name}[STARTING]", duration * 0.7, interval)
        if self._blocked(service.name):
            service.stuck = True
            return RestartResult(service.name, "STARTING", False, stuck=True)
        if service.name == "Cisco Tomcat" and self._tomcat_started_late():
            self._spawn(self._start_later(service, generation, self.profile.started_lag))
            return RestartResult(service.name, "STARTING", False)
        self.mark_started(service)
        await say(f"{service.name}[STARTED]")
        return RestartResult(service.name, "STARTED", True)

    async def _start_later(self, service: Service, generation: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if service.generation == generation and service.status == "STARTING":
            self.mark_started(service)

    async def stop(self, name: str, progress: Progress | None = None) -> RestartResult:
        """`utils service stop <name>`: the service becomes `Commanded Out of Service`."""
        service = self._activated(name)
        return await self._on_node(self._stop(service, _Reporter(progress)))

    async def _stop(self, service: Service, say: _Reporter) -> RestartResult:
        service.generation += 1
        service.status = "STOPPING"
        await say.repeat(f"{service.name}[STOPPING]", self.profile.restart_duration(self.product, service.name)
                         * 0.3, self.profile.status_interval)
        service.commanded_out = True
        service.status = "STOPPED"
        await say(f"{service.name}[STOPPED]")
        return RestartResult(service.name, "STOPPED", False)

    async def start(self, name: str, progress: Progress | None = None) -> RestartResult:
        """`utils service start <name>`."""
        service = self._activated(name)
        return await self._on_node(self._start(service, _Reporter(progress)))

    async def _start(self, service: Service, say: _Reporter) -> RestartResult:
        if service.status == "STARTED":
            await say(f"{service.name}[STARTED]")
            return RestartResult(service.name, "STARTED", True)
        service.generation += 1
        service.status = "STARTING"
        await say.repeat(f"{service.name}[STARTING]", self.profile.restart_duration(self.product, service.name)
                         * 0.7, self.profile.status_interval)
        if self._blocked(service.name):
            service.stuck = True
            return RestartResult(service.name, "STARTING", False, stuck=True)
        self.mark_started(service)
        await say(f"{service.name}[STARTED]")
        return RestartResult(service.name, "STARTED", True)


class _Reporter:
    """Streams status lines to a session; if the session goes away the work goes on silently."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    async def __call__(self, line: str) -> None:
        if self._progress is None:
            return
        try:
            await self._progress(line)
        except Exception:
            self._progress = None

    async def repeat(self, line: str, seconds: float, interval: float) -> None:
        """At least two lines (VOS repeats each state, §1.9), one per `interval` over `seconds`."""
        count = max(2, int(seconds / interval)) if interval > 0 else 2
        for _ in range(count):
            await self(line)
            await asyncio.sleep(seconds / count if seconds > 0 else 0)
