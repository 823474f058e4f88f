"""Hold, PCI pause and supervisor monitoring end to end: `contactgw run` on loopback.

The caller is a pjsua2 phone entering through the trunk's allow-list (440 Hz; it
records what it hears, which sipp cannot), the agent alice answers with 1000 Hz and the
supervisor sam (an agent entry of no queue) with 700 Hz. Each phone starts a new
recording file at every step, so each step's audio is checked on its own: who hears
which tone. sipp is the carrier of the second conversation that fills the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import yaml

from tests.support.agent_ua_client import AgentProcess
from tests.support.audio import read_channels, tone_power
from tests.support.baresip import Baresip
from tests.support.gateway_env import Gateway, start_phone, tcp_port
from tests.support.ports import block

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(120)]  # fmt: skip

RATE = 8000
CALLER, AGENT, SUPERVISOR, MUSIC = 440, 1000, 700, 261.6  # music.wav is a C4 (~262 Hz)
BARESIP = 1300  # baresip's ausine tone
ROUTING: dict[str, Any] = {
    "region": "US",
    "dids": [
        {"number": "+15550100100", "queue": "sales"},
        {"number": "+15550100200", "queue": "support"},
        {"number": "+15550100300", "queue": "help"},
    ],
    "queues": {
        "sales": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}},
        "support": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}},
        "help": {"ring_timeout": 10, "wrapup": 1, "announcements": {"every": None}},
    },
    "agents": {
        "alice": {"password": "alice-pw", "queues": ["sales"]},
        "bob": {"password": "bob-pw", "queues": ["support"]},
        "sam": {"password": "sam-pw", "queues": []},  # a supervisor's phone
        "dora": {"password": "dora-pw", "queues": ["help"]},  # on baresip
    },
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("incall")
    gw = Gateway(tmp, ROUTING, workers=1)  # every leg on one worker: 4 legs in all
    caller_port = block(gw.sip_range, 1, align=1)  # a second carrier source: the phone
    gw.config["trunks"][0]["allowed_sources"].append(f"127.0.0.1:{caller_port}")
    gw.config_path.write_text(yaml.safe_dump(gw.config, sort_keys=False))
    await gw.start()
    phones: dict[str, AgentProcess] = {}
    try:
        phones["alice"] = await start_phone(gw, "alice", tone=AGENT, answer_after=0.2)
        phones["sam"] = await start_phone(gw, "sam", tone=SUPERVISOR, answer_after=0.2)
        phones["caller"] = await AgentProcess.start([
            "--user", "+15551230000", "--no-register", "--domain", "127.0.0.1",
            "--sip-port", str(caller_port), "--rtp-port", str(block(gw.rtp_range, 8)),
            "--tone", str(CALLER),
        ])  # fmt: skip
        yield {"gw": gw, "phones": phones, "tmp": tmp}
    finally:
        for phone in phones.values():
            await phone.stop()
        rc = await gw.stop()
        assert rc == 0, gw.log()


def heard(path: Path) -> np.ndarray:
    """What a phone heard in one step (header or not: the file may still be closing),
    without its first 0.25 s (the change taking effect)."""
    raw = path.read_bytes()[44:]
    x = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float64) / 32768.0
    return x[int(0.25 * RATE) :]


def tones(x: np.ndarray) -> dict[float, bool]:
    """Which of the test's tones are present (a tone heard is > 1e-3, silence < 1e-5)."""
    assert len(x) > 0.5 * RATE, f"only {len(x)} samples"
    return {f: tone_power(x, RATE, f) > 1e-4 for f in (CALLER, AGENT, SUPERVISOR, MUSIC, BARESIP)}


class Steps:
    """Every phone records each step into its own file."""

    def __init__(self, tmp: Path, phones: dict[str, AgentProcess], who: tuple[str, ...]) -> None:
        self.tmp, self.phones, self.who, self.n = tmp, phones, who, 0

    async def next(self, name: str) -> dict[str, Path]:
        self.n += 1
        paths = {w: self.tmp / f"{self.n:02d}-{name}-{w}.wav" for w in self.who}
        for w, path in paths.items():
            await self.phones[w].send({"cmd": "record", "path": str(path)})
        return paths

    async def take(self, name: str, seconds: float = 1.2) -> dict[str, dict[float, bool]]:
        paths = await self.next(name)
        await asyncio.sleep(seconds)  # the audio of this step
        await self.next("gap")  # closes this step's files
        return {w: tones(heard(p)) for w, p in paths.items()}


async def connected_call(gw: Gateway, caller: AgentProcess, did: str) -> str:
    await caller.send({"cmd": "call", "uri": f"sip:{did}@127.0.0.1:{gw.edge_port}"})

    async def talking() -> Any:
        calls = [c for c in await gw.get("/calls") if c["state"] == "connected"]
        return calls[0]["id"] if len(calls) == 1 else None

    call_id: str = await gw.wait_for("a connected call", talking, timeout=15)
    await caller.wait_event("call_state", state="confirmed")
    return call_id


async def in_call(gw: Gateway, call_id: str, what: str, check: Any) -> dict[str, Any]:
    async def probe() -> Any:
        view = await gw.get(f"/api/v1/calls/{call_id}/in-call")
        return view if check(view) else None

    return await gw.wait_for(what, probe, timeout=10, interval=0.05)  # type: ignore[no-any-return]


async def event_types(gw: Gateway, call_id: str) -> list[str]:
    page = await gw.get(f"/events?subject={call_id}&limit=200")
    return [e["type"].removeprefix("io.contactgw.") for e in page["events"]]


async def test_hold_by_api_and_phone_and_pci_pause_keep_the_timeline(env: dict[str, Any]) -> None:
    gw, phones = env["gw"], env["phones"]
    await gw.wait_for("alice available", lambda: _available(gw, "alice"), timeout=10)
    call_id = await connected_call(gw, phones["caller"], "+15550100100")
    steps = Steps(env["tmp"], phones, ("caller", "alice"))
    talk = await steps.take("talk", 1.0)
    assert talk["caller"][AGENT] and talk["alice"][CALLER], talk

    held = await gw.api.post(f"/api/v1/calls/{call_id}/hold")
    assert held.status_code == 200, held.text
    view = held.json()
    assert (view["phase"], view["held"], view["hold_count"]) == ("held", True, 1)
    again = await gw.api.post(f"/api/v1/calls/{call_id}/hold")
    assert again.status_code == 409 and "already on hold" in again.json()["detail"]
    hold = await steps.take("hold", 1.5)
    assert hold["caller"][MUSIC] and not hold["caller"][AGENT], f"music, not alice: {hold}"
    assert not hold["alice"][CALLER], f"alice is cut from the caller: {hold}"
    back = await gw.api.post(f"/api/v1/calls/{call_id}/resume")
    assert back.status_code == 200 and back.json()["held"] is False
    assert back.json()["hold_seconds"] >= 1.5
    resumed = await steps.take("resumed", 1.0)
    assert resumed["caller"][AGENT] and not resumed["caller"][MUSIC], resumed

    # PCI: paused by the API, resumed by the agent's code *2 (RFC 2833: never a tone)
    paused = await gw.api.post(f"/api/v1/calls/{call_id}/recording/pause")
    assert paused.status_code == 200 and paused.json()["recording_paused"] is True
    pci = await steps.take("pci", 1.2)
    assert pci["caller"][AGENT] and pci["alice"][CALLER], "the parties still talk"
    await phones["alice"].send({"cmd": "dtmf", "digits": "*2"})
    view = await in_call(gw, call_id, "resumed by *2", lambda v: not v["recording_paused"])
    (span,) = view["recording_pauses"]
    assert 1.0 < span["end"] - span["start"] < 4.0 and span["by"] == "anonymous"  # the API

    # the softphone's own hold: a re-INVITE with a=sendonly, then back
    await phones["alice"].send({"cmd": "hold"})
    await in_call(gw, call_id, "held by the phone", lambda v: v["held"])
    # (alice's phone hears nothing while it holds: only the caller's side is checked)
    phone_hold = await Steps(env["tmp"], phones, ("caller",)).take("phone-hold", 1.0)
    assert phone_hold["caller"][MUSIC] and not phone_hold["caller"][AGENT], phone_hold
    await phones["alice"].send({"cmd": "unhold"})
    view = await in_call(gw, call_id, "unheld by the phone", lambda v: not v["held"])
    assert view["hold_count"] == 2
    await phones["caller"].send({"cmd": "hangup"})

    (row,) = await gw.cdr(1)
    assert row["id"] == call_id and row["hold_count"] == 2 and row["hold_seconds"] >= 2.3, row
    (stored,) = row["recording_pauses"]
    assert stored["start"] == span["start"] and stored["end"] == span["end"]
    types = await event_types(gw, call_id)
    assert types.count("call.held") == 2 and types.count("call.resumed") == 2, types
    assert "recording.paused" in types and "recording.resumed" in types

    async def stereo() -> Any:
        return (await gw.get("/cdr?limit=1"))[0]["recording_stereo"]

    audio, rate = read_channels(await gw.wait_for("stereo recording", stereo))
    caller_ch, agent_ch = audio[:, 0], audio[:, 1]

    def at(t: float, ch: np.ndarray) -> np.ndarray:
        return ch[int(t * rate) : int((t + 0.6) * rate)]

    mid = (span["start"] + span["end"]) / 2 - 0.3
    assert np.abs(at(mid, caller_ch)).max() < 1e-3 and np.abs(at(mid, agent_ch)).max() < 1e-3
    before = span["start"] - 0.9  # talking again after the API hold
    assert tone_power(at(before, caller_ch), rate, CALLER) > 1e-3
    assert tone_power(at(before, agent_ch), rate, AGENT) > 1e-3
    # the timeline is whole: as long as the conversation, pauses and holds included
    assert abs(len(caller_ch) / rate - row["talk_seconds"]) < 0.5, (len(caller_ch), row)


async def test_listen_whisper_barge_each_party_hears_what_its_mode_says(
    env: dict[str, Any],
) -> None:
    gw, phones = env["gw"], env["phones"]
    await gw.wait_for("alice available", lambda: _available(gw, "alice"), timeout=10)
    call_id = await connected_call(gw, phones["caller"], "+15550100100")
    unknown = await gw.api.post(f"/api/v1/calls/{call_id}/monitor",
                                json={"mode": "listen", "supervisor": "nobody"})  # fmt: skip
    assert unknown.status_code == 422 and "supervisor" in unknown.json()["detail"]
    started = await gw.api.post(f"/api/v1/calls/{call_id}/monitor",
                                json={"mode": "listen", "supervisor": "sam"})  # fmt: skip
    assert started.status_code == 201, started.text
    await in_call(gw, call_id, "sam answered", lambda v: v["monitor"]["state"] == "active")
    steps = Steps(env["tmp"], phones, ("caller", "alice", "sam"))

    listen = await steps.take("listen")
    assert listen["sam"][CALLER] and listen["sam"][AGENT], f"sam hears both: {listen}"
    assert not listen["caller"][SUPERVISOR] and not listen["alice"][SUPERVISOR], listen
    assert listen["caller"][AGENT] and listen["alice"][CALLER], "the conversation goes on"

    await phones["sam"].send({"cmd": "dtmf", "digits": "5"})  # Asterisk's whisper key
    await in_call(gw, call_id, "whisper by DTMF", lambda v: v["monitor"]["mode"] == "whisper")
    whisper = await steps.take("whisper")
    assert whisper["alice"][SUPERVISOR], f"the agent hears the supervisor: {whisper}"
    assert not whisper["caller"][SUPERVISOR], f"the caller does not (FS #2460): {whisper}"
    assert whisper["sam"][CALLER] and whisper["sam"][AGENT], whisper

    barge = await gw.api.patch(f"/api/v1/calls/{call_id}/monitor", json={"mode": "barge"})
    assert barge.status_code == 200 and barge.json()["monitor"]["mode"] == "barge"
    three = await steps.take("barge")
    assert three["caller"][SUPERVISOR] and three["alice"][SUPERVISOR], three
    assert three["caller"][AGENT] and three["alice"][CALLER] and three["sam"][CALLER], three

    ended = await gw.api.delete(f"/api/v1/calls/{call_id}/monitor")
    assert ended.status_code == 200 and ended.json()["monitor"]["state"] == "ended"
    await phones["sam"].wait_event("call_state", state="disconnected")
    after = await Steps(env["tmp"], phones, ("caller", "alice")).take("after", 1.0)
    assert not after["caller"][SUPERVISOR] and not after["alice"][SUPERVISOR], after
    await phones["caller"].send({"cmd": "hangup"})

    (row,) = await gw.cdr(1)
    (m,) = row["monitors"]
    assert (m["supervisor"], m["by"], m["reason"]) == ("sam", "anonymous", "api")
    assert [(c["mode"], c["source"]) for c in m["changes"]] == [("whisper", "dtmf"),
                                                               ("barge", "api")]  # fmt: skip
    types = await event_types(gw, call_id)
    assert types.count("monitor.changed") == 2 and "monitor.started" in types, types
    assert "monitor.ended" in types

    async def stereo() -> Any:
        return (await gw.get("/cdr?limit=1"))[0]["recording_stereo"]

    audio, rate = read_channels(await gw.wait_for("stereo recording", stereo))
    for ch in (audio[:, 0], audio[:, 1]):  # recorders take caller and agent only
        assert tone_power(ch, rate, SUPERVISOR) < 1e-2 * tone_power(ch, rate, CALLER) + 1e-5
    audit = (await gw.get("/api/v1/audit?limit=1000"))["items"]
    actions = {a["action"] for a in audit if a["target"] == call_id}
    assert {"monitor.start", "monitor.change", "monitor.stop"} <= actions, actions


async def test_no_free_leg_on_the_callers_worker_is_a_409_and_the_call_goes_on(
    env: dict[str, Any],
) -> None:
    gw, phones = env["gw"], env["phones"]
    bob = await start_phone(gw, "bob", tone=AGENT, answer_after=0.2)
    try:
        await gw.wait_for("alice available", lambda: _available(gw, "alice"), timeout=10)
        await gw.wait_for("bob available", lambda: _available(gw, "bob"), timeout=10)
        call_id = await connected_call(gw, phones["caller"], "+15550100100")
        sipp = await gw.call("+15550100200", hold_ms=6000)  # the carrier's second caller

        async def both() -> bool:
            return len([c for c in await gw.get("/calls") if c["state"] == "connected"]) == 2

        await gw.wait_for("two conversations on the worker", both, timeout=15)
        rang = len(phones["sam"].find("incoming"))
        full = await gw.api.post(f"/api/v1/calls/{call_id}/monitor",
                                 json={"mode": "listen", "supervisor": "sam"})  # fmt: skip
        assert full.status_code == 409, full.text
        assert "no free leg on worker w1 (4 of 4 in use)" in full.json()["detail"]
        assert len(phones["sam"].find("incoming")) == rang, "sam's phone never rang"
        view = await gw.get(f"/api/v1/calls/{call_id}/in-call")
        assert view["phase"] == "connected" and view["monitor"] is None
        steps = Steps(env["tmp"], phones, ("caller",))
        still = await steps.take("still", 1.0)
        assert still["caller"][AGENT], "the caller still hears alice"
        missing = await gw.api.post("/api/v1/calls/not-a-call/hold")
        assert missing.status_code == 404
        await phones["caller"].send({"cmd": "hangup"})
        assert await sipp.wait(20) == 0, sipp.errors()
    finally:
        await bob.stop()


async def test_baresip_agent_holds_with_its_own_hold_command(env: dict[str, Any]) -> None:
    """A phone nobody here wrote: baresip's /hold re-INVITE holds the call, /resume ends it."""
    gw, phones = env["gw"], env["phones"]
    dora = await Baresip.start(
        env["tmp"], user="dora", password="dora-pw", edge_port=gw.edge_port,
        sip_port=block(gw.sip_range, 2, align=2), ctrl_port=tcp_port(),
        rtp=(rtp := block(gw.rtp_range, 20), rtp + 19),
    )  # fmt: skip
    try:
        await dora.wait_registered()
        await gw.wait_for("dora available", lambda: _available(gw, "dora"), timeout=10)
        call_id = await connected_call(gw, phones["caller"], "+15550100300")
        steps = Steps(env["tmp"], phones, ("caller",))
        talk = await steps.take("dora-talk", 1.0)
        assert talk["caller"][BARESIP] and not talk["caller"][MUSIC], talk
        await dora.command("hold")
        view = await in_call(gw, call_id, "held by baresip", lambda v: v["held"])
        assert view["hold_count"] == 1
        held = await steps.take("dora-hold", 1.0)
        assert held["caller"][MUSIC] and not held["caller"][BARESIP], held
        await dora.command("resume")
        await in_call(gw, call_id, "resumed by baresip", lambda v: not v["held"])
        back = await steps.take("dora-back", 1.0)
        assert back["caller"][BARESIP] and not back["caller"][MUSIC], back
        types = await event_types(gw, call_id)
        assert types.count("call.held") == 1 and types.count("call.resumed") == 1, types
        await phones["caller"].send({"cmd": "hangup"})
        (row,) = await gw.cdr(1)
        assert (row["agent"], row["hold_count"]) == ("dora", 1) and row["hold_seconds"] > 0.9
    finally:
        await dora.stop()


async def _available(gw: Gateway, agent: str) -> bool:
    return await gw.agent_state(agent) == "available"
