"""Trunk registration from a worker: digest auth, forced Contact, re-homing on death."""

from __future__ import annotations

import signal

import pytest

from gateway.ipc import protocol as p
from gateway.supervisor import WorkerDown
from tests.integration.worker.conftest import is_event, start_registrar

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

EDGE_CONTACT = "<sip:trunk@127.0.0.1:5999>"  # where the trunk should send calls: the edge


def trunk(port: int, password: str = "pw") -> p.Register:
    return p.Register(
        account="trunk",
        registrar=f"sip:127.0.0.1:{port}",
        id_uri="sip:gw@test.local",
        username="gw",
        password=password,
        contact=EDGE_CONTACT,
        expires=120,
    )


async def test_registration_is_rehomed_when_its_worker_dies(make_harness, tmp_path):
    registrar, port = await start_registrar(
        tmp_path, user="gw", password="pw", contact_re=r"sip:trunk@127\.0\.0\.1:5999", calls=2
    )
    try:
        h = await make_harness(2)
        home = await h.pool.register(trunk(port))
        ok = await h.wait(is_event(p.RegistrationState, account="trunk", registered=True), 10)
        assert (ok.worker_id, ok.event.code) == (home, 200)
        assert h.pool.registration_home("trunk") == home

        h.expected_deaths = 1
        mark = len(h.history)
        h.pool.kill(home, signal.SIGKILL)
        await h.wait(is_event(WorkerDown, worker_id=home), 5, start=mark)
        again = await h.wait(
            is_event(p.RegistrationState, account="trunk", registered=True), 10, start=mark
        )
        assert again.worker_id != home
        assert h.pool.registration_home("trunk") == again.worker_id
        assert await registrar.wait(10) == 0, registrar.errors()
    finally:
        registrar.kill()


async def test_wrong_password_is_reported_as_failed_registration(make_harness, tmp_path):
    registrar, port = await start_registrar(
        tmp_path, user="gw", password="right", contact_re="sip:[^>;]*"
    )
    try:
        h = await make_harness(1)
        await h.pool.register(trunk(port, password="wrong"))
        bad = await h.wait(is_event(p.RegistrationState, account="trunk"), 10)
        assert (bad.event.code, bad.event.registered) == (403, False)
        await h.pool.unregister("trunk")
        assert h.pool.registration_home("trunk") is None
    finally:
        registrar.kill()
