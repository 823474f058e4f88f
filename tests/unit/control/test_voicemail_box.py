"""The box of a voicemail message goes with the call record and the `voicemail.left`
event: a queue's overflow to `{voicemail: box}` stores "box"; the event carries the box
and the URL that plays it."""

from __future__ import annotations

import uuid
import wave
from pathlib import Path

from gateway.control.phases import Phase
from gateway.ipc import protocol as p
from gateway.store.voicemail import MessageFilter, VoicemailStore
from tests.unit.control.conftest import Rig

L = p.LegState


def _wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * int(8000 * seconds))


async def test_an_overflow_to_a_named_box_stores_the_box_and_the_event_carries_it(
    rig: Rig,
) -> None:
    rig.incoming("+15550100300")  # queue "messages": max_wait 5 s, then {voicemail: box}
    await rig.settle()
    (answer,) = rig.pool.of(p.Answer)
    assert answer.prompt is not None
    rig.event(p.PlaybackDone(leg="w1-in-1", path=answer.prompt))
    rig.step(5.0)
    await rig.settle()
    s = rig.session()
    intro = rig.pool.of(p.Play)[-1]
    rig.event(p.PlaybackDone(leg="w1-in-1", path=intro.path))
    await rig.settle()
    (record,) = rig.pool.of(p.RecordStart)
    assert s.phase is Phase.VOICEMAIL_RECORDING and s.voicemail_box == "box"
    _wav(Path(record.path), 2.0)
    rig.leg("w1-in-1", L.DISCONNECTED)  # the caller hangs up after speaking
    rig.event(p.RecordingClosed(leg="w1-in-1", path=record.path, duration=2, bytes=32044))
    await rig.settle()
    for _ in range(50):
        await rig.settle()
        events = {e.type: e for e in await rig.outbox.pending(limit=100)}
        if "io.contactgw.voicemail.left" in events:
            break
    message = await VoicemailStore(rig.cdr.database).message(uuid.UUID(s.call_id))
    assert (message.box, message.state, message.recording) == ("box", "new", record.path)
    left = events["io.contactgw.voicemail.left"].payload
    assert left["box"] == "box" and left["queue"] == "messages"
    assert left["audio_url"] == f"/api/v1/voicemail/{s.call_id}/audio"
    assert left["duration_seconds"] > 0


async def test_a_call_that_left_no_message_has_no_box(rig: Rig) -> None:
    rig.incoming("+15550100100")
    await rig.settle()
    s = rig.session()
    rig.leg("w1-in-1", L.DISCONNECTED)
    await rig.settle()
    row = await rig.record(s.call_id)
    assert row.disposition == "abandoned"
    store = VoicemailStore(rig.cdr.database)
    assert (await store.messages(MessageFilter())).items == ()
