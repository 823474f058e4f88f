"""The owner thread without pjsua2: a fake driven state whose poll blocks on a UDP
socket, as libHandleEvents blocks on the SIP port (so the wake-up datagram is real)."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.errors import BadState, NoSuchLeg
from gateway.sip.loop import WAKE_UP, OwnerThread


class FakeDriven:
    def __init__(self, fail_setup: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.fail_setup = fail_setup
        self.owner: OwnerThread | None = None
        self.threads: set[str] = set()
        self.log: list[str] = []
        self.wakes = 0
        self.busy = True
        self.torn_down = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return str(host), int(port)

    def setup(self) -> None:
        self.threads.add(threading.current_thread().name)
        if self.fail_setup:
            raise OSError("port in use")

    def poll(self, timeout_ms: int) -> None:
        self.threads.add(threading.current_thread().name)
        ready, _, _ = select.select([self.sock], [], [], timeout_ms / 1000)
        if ready and self.sock.recv(64) == WAKE_UP:
            self.wakes += 1

    def execute(self, cmd: p.Command) -> dict[str, object]:
        self.threads.add(threading.current_thread().name)
        assert self.owner is not None
        match cmd:
            case p.Play():
                self.owner.call_later(0.05, lambda: self.log.append(f"timer {cmd.path}"))
            case p.Hangup():
                raise NoSuchLeg("w1", cmd.leg)
            case p.Shutdown():
                self.owner.stop_after(cmd.grace)
            case _:
                pass
        self.log.append(cmd.NAME)
        return {"n": len(self.log)}

    def housekeeping(self, now: float) -> None:
        pass

    def idle(self) -> bool:
        return not self.busy

    def teardown(self, pump: Callable[[int], None]) -> None:
        pump(0)
        self.log.append("teardown")
        self.sock.close()
        self.torn_down.set()


def start(driven: FakeDriven, poll_ms: int = 5000) -> OwnerThread:
    owner = OwnerThread("w1", driven.address, poll_ms=poll_ms)
    driven.owner = owner
    owner.start(driven)
    return owner


def test_commands_run_in_order_on_the_owner_thread_and_wake_the_poll() -> None:
    driven = FakeDriven()
    owner = start(driven)  # a 5 s poll: only the wake-up datagram makes this fast
    t0 = time.monotonic()
    results = [owner.submit(p.Ping()), owner.submit(p.Drain())]
    assert [f.result(2) for f in results] == [{"n": 1}, {"n": 2}]
    assert time.monotonic() - t0 < 1.0 and driven.wakes >= 1
    assert driven.threads == {"pjsua2-owner"}
    with pytest.raises(NoSuchLeg):  # a failure is the future's exception, not a crash
        owner.submit(p.Hangup("L9")).result(2)
    owner.submit(p.Shutdown(grace=0)).result(2)
    owner.join(5)
    assert driven.torn_down.is_set()


def test_timers_fire_on_the_owner_thread_after_their_delay() -> None:
    driven = FakeDriven()
    owner = start(driven)
    owner.submit(p.Play("L1", "a.wav")).result(2)
    owner.submit(p.Play("L1", "b.wav")).result(2)
    deadline = time.monotonic() + 2
    while "timer b.wav" not in driven.log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert driven.log[-2:] == ["timer a.wav", "timer b.wav"]
    owner.submit(p.Shutdown(grace=0)).result(2)
    owner.join(5)


def test_shutdown_waits_for_the_grace_unless_idle_then_refuses_commands() -> None:
    driven = FakeDriven()
    owner = start(driven, poll_ms=20)
    owner.submit(p.Shutdown(grace=30)).result(2)
    time.sleep(0.1)
    assert not owner.finished.is_set()  # legs up: it waits for the grace
    driven.busy = False  # the last leg ended
    owner.join(2)
    assert owner.finished.is_set() and driven.log[-1] == "teardown"
    with pytest.raises(BadState):
        owner.submit(p.Ping()).result(1)


def test_a_failing_setup_is_raised_by_start() -> None:
    driven = FakeDriven(fail_setup=True)
    with pytest.raises(OSError, match="port in use"):
        start(driven)
    driven.sock.close()
