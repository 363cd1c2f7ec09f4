"""Several service processes behind one port, each new connection handed to the least busy.

uvicorn's own multi-process mode shares the listening socket and lets every process accept
from it. An event loop accepts every connection waiting when it wakes, so a few keep-alive
clients that connect together often all land in one process: measured, 8 connections to 2
processes split 8/0 or 5/3, and one core queued requests while the other idled. Here the
parent process accepts, and passes each connection's file descriptor (SCM_RIGHTS over a
Unix socket pair, as Node's cluster module does by default) to the process with the fewest
open connections; that process serves it exactly as if it had accepted it itself.

The parent only accepts and forwards: requests never pass through it. It replaces a process
that dies, and stops everything if one fails to start (the app or its settings are broken,
and every restart would fail the same way).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger("uvicorn.error")

_SPAWN = multiprocessing.get_context("spawn")
# Per process, in a shared array that only the process writes: whether it has started
# serving (0/1), and how many of the connections handed to it have closed since.
_FIELDS = 2
_STARTED, _CLOSED = range(_FIELDS)
_TICK_S = 0.5
_ACCEPT_RETRY_S = 0.2
_START_WAIT_S = 60.0
_Loads = ctypes.Array[ctypes.c_longlong]


def serve_balanced(config: uvicorn.Config, workers: int) -> int:
    """Serve `config` from `workers` processes until SIGINT or SIGTERM; the exit status."""
    listener = config.bind_socket()
    listener.listen(config.backlog)
    listener.setblocking(False)
    return _Balancer(config, listener, workers).run()


@dataclass
class _Worker:
    process: SpawnProcess
    channel: socket.socket  # the parent's end of the pair
    dispatched: int = 0


class _Balancer:
    def __init__(self, config: uvicorn.Config, listener: socket.socket, workers: int) -> None:
        self._config = config
        self._listener = listener
        self._loads: _Loads = _SPAWN.RawArray(ctypes.c_longlong, workers * _FIELDS)
        self._workers: list[_Worker | None] = [None] * workers
        self._stopping = False
        self._status = 0
        self._turn = 0

    def run(self) -> int:
        logger.info("Started parent process [%d]", os.getpid())
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in range(len(self._workers)):
                self._start(slot)
            self._wait_until_started()
            with selectors.DefaultSelector() as selector:
                selector.register(self._listener, selectors.EVENT_READ)
                while not self._stopping:
                    if selector.select(_TICK_S):
                        self._accept_waiting()
                    self._replace_dead()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._listener.close()
            self._stop_all()
        logger.info("Stopping parent process [%d]", os.getpid())
        return self._status

    def _wait_until_started(self) -> None:
        """Accept nothing until every process serves (connections wait in the listen
        backlog): keep-alive clients that connect while only one has started would all stay
        with it. A process that never starts does not keep the others idle for long."""
        deadline = time.monotonic() + _START_WAIT_S
        while not self._stopping and time.monotonic() < deadline:
            if all(self._loads[slot * _FIELDS + _STARTED] for slot in range(len(self._workers))):
                return
            time.sleep(0.05)
            self._replace_dead()

    def _stop(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def _start(self, slot: int) -> None:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        base = slot * _FIELDS
        self._loads[base : base + _FIELDS] = [0] * _FIELDS
        process = _SPAWN.Process(
            target=_serve_worker, args=(self._config, child_end, self._loads, base)
        )
        process.start()
        child_end.close()
        self._workers[slot] = _Worker(process, parent_end)

    def _accept_waiting(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors, say: the backlog keeps it
                logger.error("accept failed: %s", error)
                time.sleep(_ACCEPT_RETRY_S)
                return
            with connection:
                self._hand_over(connection)

    def _hand_over(self, connection: socket.socket) -> None:
        for worker in self._by_load():
            try:
                socket.send_fds(worker.channel, [b"c"], [connection.fileno()])
            except OSError:  # the process died; _replace_dead starts another
                continue
            worker.dispatched += 1
            return
        logger.error("no service process could take a connection; it is closed")

    def _by_load(self) -> list[_Worker]:
        """Started processes before starting ones, then fewest open connections, ties taken
        in turn."""
        self._turn += 1
        ranked = []
        for slot, worker in enumerate(self._workers):
            if worker is None:
                continue
            started, closed = self._loads[slot * _FIELDS : (slot + 1) * _FIELDS]
            turn = (slot - self._turn) % len(self._workers)
            ranked.append((not started, worker.dispatched - closed, turn, worker))
        ranked.sort(key=lambda entry: entry[:3])
        return [entry[3] for entry in ranked]

    def _replace_dead(self) -> None:
        for slot, worker in enumerate(self._workers):
            if worker is None or worker.process.exitcode is None or self._stopping:
                continue
            worker.channel.close()
            self._workers[slot] = None
            if worker.process.exitcode == STARTUP_FAILURE:
                logger.error("Child process [%d] failed to start; stopping", worker.process.pid)
                self._status = STARTUP_FAILURE
                self._stopping = True
                return
            logger.warning("Child process [%d] died; starting another", worker.process.pid)
            self._start(slot)

    def _stop_all(self) -> None:
        workers = [worker for worker in self._workers if worker is not None]
        for worker in workers:
            if worker.process.exitcode is None:
                worker.process.terminate()
        for worker in workers:
            worker.process.join()
            worker.channel.close()


def _serve_worker(config: uvicorn.Config, channel: socket.socket, loads: _Loads, base: int) -> None:
    config.configure_logging()
    _HandedServer(config, channel, loads, base).run()


class _HandedServer(uvicorn.Server):
    """A uvicorn server whose connections arrive over `channel` instead of from accept()."""

    def __init__(
        self,
        config: uvicorn.Config,
        channel: socket.socket,
        loads: _Loads,
        base: int,
    ) -> None:
        super().__init__(config)
        self._channel = channel
        self._loads = loads
        self._base = base
        self._attaching: set[asyncio.Task[None]] = set()
        self.server_state.connections = _Connections(loads, base + _CLOSED)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        self.servers = []  # uvicorn's shutdown closes these: there are none
        self._channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self._channel.fileno(), self._receive)
        self.started = True
        self._loads[self._base + _STARTED] = 1

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self._channel.fileno())
        self._channel.close()
        await super().shutdown(sockets)

    def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message, descriptors, _, _ = socket.recv_fds(self._channel, 1, 1)
            except (BlockingIOError, InterruptedError):
                break
            if not message:  # the parent is gone: finish what is open and exit
                loop.remove_reader(self._channel.fileno())
                self.should_exit = True
                break
            for descriptor in descriptors:
                task = loop.create_task(self._attach(socket.socket(fileno=descriptor)))
                self._attaching.add(task)
                task.add_done_callback(self._attaching.discard)

    async def _attach(self, connection: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(self._protocol, connection)
        except OSError:  # the client left before it was served
            connection.close()
            self._loads[self._base + _CLOSED] += 1

    def _protocol(self) -> asyncio.Protocol:
        make: Callable[..., asyncio.Protocol] = self.config.http_protocol_class
        return make(
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )


class _Connections(set[Any]):
    """uvicorn's set of open connections, counting in the shared array those that close, so
    the parent knows at once how many each process holds."""

    def __init__(self, loads: _Loads, closed_at: int) -> None:
        super().__init__()
        self._loads = loads
        self._closed_at = closed_at

    def discard(self, connection: Any) -> None:
        if connection in self:  # uvicorn discards a connection more than once
            super().discard(connection)
            self._loads[self._closed_at] += 1
