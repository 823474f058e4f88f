"""The desktop's event stream on its own: `retry:` first, a desktop only when it changed
(the ticking wait left out), a heartbeat when quiet, a failed sample skipped, the end
when the gateway stops."""

from __future__ import annotations

from pydantic import BaseModel

from gateway.api.v1.desktop_stream import events


class Call(BaseModel):
    call_id: str
    wait_seconds: float


class Sample(BaseModel):
    state: str
    call: Call | None


async def test_changes_only_heartbeat_and_stop() -> None:
    script: list[Sample | None] = [
        Sample(state="available", call=None),
        Sample(state="available", call=None),  # the same: not sent
        Sample(state="offered", call=Call(call_id="c1", wait_seconds=1.0)),
        Sample(state="offered", call=Call(call_id="c1", wait_seconds=2.0)),  # ticking only
        None,  # the sample fails (database away): skipped, the stream goes on
        Sample(state="on-call", call=Call(call_id="c1", wait_seconds=2.5)),
    ]
    taken = 0

    async def build() -> BaseModel:
        nonlocal taken
        item = script[min(taken, len(script) - 1)]
        taken += 1
        if item is None:
            raise RuntimeError("database is locked")
        return item

    def stopping() -> bool:
        return taken >= len(script) + 3  # three more quiet samples, then the gateway stops

    out = [m async for m in events(build, interval=0.001, heartbeat=0.0025, stopping=stopping)]
    assert out[0] == "retry: 3000\n\n"
    sent = [m for m in out if m.startswith("id: ")]
    assert [m.split("\n")[0] for m in sent] == ["id: 1", "id: 2", "id: 3"]
    assert '"state":"offered"' in sent[1] and '"state":"on-call"' in sent[2]
    assert ": heartbeat\n\n" in out[out.index(sent[2]) :]
