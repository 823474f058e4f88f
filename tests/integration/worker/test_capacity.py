"""A worker holds 4 legs (PJSUA_MAX_CALLS of the wheel): a 5th is refused cleanly."""

from __future__ import annotations

import pytest

from gateway.ipc import protocol as p
from gateway.ipc.errors import CapacityExceeded
from tests.integration.worker.conftest import (
    MUSIC,
    expect_refusal,
    is_event,
    leg_state,
    start_caller,
)
from tests.support.sipp import uac_wait_bye

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


async def test_fifth_leg_is_refused_and_reported(make_harness, pcaps, tmp_path):
    h = await make_harness(1)
    port = h.pool.workers()[0].sip_port
    callers = await start_caller(
        tmp_path,
        port,
        pcaps["tone440"],
        pcaps["dtmf"],
        dtmf_after_ms=300,
        end=uac_wait_bye(),
        calls=4,
    )
    try:
        legs = [f"w1-in-{i}" for i in range(1, 5)]
        for leg in legs:
            await h.wait(is_event(p.IncomingCall, leg=leg), 10)
            await h.cmd("w1", p.Answer(leg, prompt=MUSIC, loop=True))
        for leg in legs:
            await h.wait(leg_state(leg, "confirmed"), 10)
        cap = h.pool.capacity()
        assert (cap.legs, cap.max_legs, cap.free_legs) == (4, 4, 0)

        # Outgoing: refused by the worker before pjsua is asked.
        with pytest.raises(CapacityExceeded) as err:
            await h.cmd("w1", p.Dial("sip:agent@127.0.0.1:9", leg="fifth"))
        assert err.value.code == "capacity"
        # Incoming: pjsua answers 486 itself; the worker reports it.
        await expect_refusal(tmp_path, port, 486)
        rejected = (await h.wait(is_event(p.CallRejected), 5)).event
        assert rejected.code == 486 and "overflow" in rejected.from_uri

        # The four calls are intact and end cleanly.
        assert (await h.cmd("w1", p.Ping()))["legs"] == 4
        for leg in legs:  # the callers are now past their DTMF, waiting for BYE
            await h.wait(is_event(p.DtmfDigit, leg=leg, digit="#"), 10)
            await h.cmd("w1", p.Hangup(leg))
        for leg in legs:
            await h.wait(leg_state(leg, "disconnected"), 5)
        assert await callers.wait(15) == 0, callers.errors()
        assert h.pool.capacity().free_legs == 4
    finally:
        callers.kill()
