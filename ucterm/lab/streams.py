"""asyncio stream helpers shared by the lab's TLS ports and its HTTP server.

- :class:`LabStreamProtocol`: the stream protocol of every TLS port (server.py), which knows
  once a connection is being upgraded to TLS (see its docstring for the log line it avoids);
- :func:`read_unless`: a read that gives up as soon as an event is set, so that a connection
  waiting for its client can be ended the moment its service restarts, without polling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

#: What asyncio.start_server calls with each accepted connection's streams.
ClientConnected = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]


class LabStreamProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, told (:meth:`starting_tls`) when the stream becomes TLS.

    `StreamWriter.start_tls` marks a stream as TLS only after the handshake has completed *and*
    the awaiting task has resumed. A client that sends its close_notify right after the
    handshake (every certificate probe does) reaches :meth:`eof_received` in between, and the
    plain-TCP answer there ("keep the transport open for writing", True) makes asyncio's SSL
    layer log "returning true from eof_received() has no effect when using ssl" once per probe.
    TLS has no half-close, so from the start of the handshake this protocol answers False: the
    same thing the stdlib does once it knows, decided by a public hook rather than by setting the
    stdlib protocol's private `_over_ssl` flag early (what the TLS layer did before).
    """

    def __init__(self, reader: asyncio.StreamReader, client_connected_cb: ClientConnected | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(reader, client_connected_cb, loop)
        self._tls = False

    def starting_tls(self) -> None:
        """The connection is about to be upgraded to TLS (call before StreamWriter.start_tls)."""
        self._tls = True

    def eof_received(self) -> bool:
        keep_open = bool(super().eof_received())
        return False if self._tls else keep_open


async def start_lab_server(client_connected_cb: ClientConnected, host: str, port: int) -> asyncio.Server:
    """`asyncio.start_server` with :class:`LabStreamProtocol` (start_server takes no protocol factory)."""
    loop = asyncio.get_running_loop()

    def factory() -> LabStreamProtocol:
        return LabStreamProtocol(asyncio.StreamReader(loop=loop), client_connected_cb, loop)

    return await loop.create_server(factory, host, port, reuse_address=True)


async def read_unless(stop: asyncio.Event, read: Coroutine[Any, Any, bytes], timeout: float) -> bytes | None:
    """The result of `read`, or None if `stop` is set first (or was already) or `timeout` seconds pass.

    The read is cancelled then, and waited for, so that the reader can be read again at once; a
    cancelled StreamReader read or readline leaves what it had buffered in the reader. What the
    read raised (ConnectionError, SSLError...) is raised here, unless `stop` was set meanwhile.
    """
    if stop.is_set():
        read.close()  # never started: nothing was read
        return None
    reading = asyncio.ensure_future(read)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({reading, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        reading.cancel()
        stopping.cancel()
        raise
    stopping.cancel()
    if not reading.done():
        reading.cancel()
        await asyncio.wait({reading})  # unlike `await reading`, never mistakes its CancelledError for ours
    if reading.cancelled():
        return None
    error = reading.exception()  # retrieved in every case, so asyncio never reports it as lost
    if stop.is_set():
        return None
    if error is not None:
        raise error
    return reading.result()
