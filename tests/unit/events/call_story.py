"""One answered, recorded call as the gateway would report it, event by event, each
built by the catalogue and wrapped in a minimal CloudEvents envelope of our own (the
ticketing example must work from the published contract, not from envelope.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.events import catalogue as c
from gateway.events.catalogue import Event, build

CALL = "5f0c2d1e-91b4-4f7e-8d2a-0c3e9b1a7d42"
T0 = datetime(2026, 12, 1, 14, 0, 0, tzinfo=UTC)
RTP = c.RtpSummary(rx_packets=600, rx_loss=2, rx_jitter_ms=3.5, tx_packets=598, tx_loss=0)
RECORDING_URL = f"/calls/{CALL}/recording"  # as gateway.control.driver.recording_url


def cloudevent(data: Event, sequence: int, at: datetime) -> dict[str, Any]:
    msg = build(data, at=at)
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{msg.subject}/{sequence}")),
        "source": "contactgw://test",
        "type": msg.type,
        "subject": msg.subject,
        "time": at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": f"https://example.test/events/{msg.type}.v1.json",
        "sequence": f"{sequence:020d}",
        "data": dict(msg.payload),
    }
    if msg.queue is not None:
        event["queue"] = msg.queue
    return event


def answered_call(call_id: str = CALL) -> list[dict[str, Any]]:
    """sequence 1..9: received, queued, alice rings out, bob answers, ended, recording
    ready, completed."""
    at = [T0 + timedelta(seconds=s) for s in (0, 1, 2, 17, 18, 21, 141, 143, 151)]
    payloads: list[Event] = [
        c.CallReceived(
            call_id=call_id, sip_call_id="abc@carrier", did="+15550100100",
            caller="+15557654321", trunk="carrier", worker="w1", route="queue",
            queue="sales", arrived_at=at[0],
        ),
        c.CallQueued(call_id=call_id, queue="sales", position=2, priority=5),
        c.CallOffered(
            call_id=call_id, queue="sales", agent="alice", ring_timeout_seconds=15, attempt=1
        ),
        c.CallOfferFailed(
            call_id=call_id, queue="sales", agent="alice", reason="no-answer", sip_code=None
        ),
        c.CallOffered(
            call_id=call_id, queue="sales", agent="bob", ring_timeout_seconds=15, attempt=2
        ),
        c.CallAnswered(call_id=call_id, queue="sales", agent="bob", wait_seconds=21.0),
        c.CallEnded(
            call_id=call_id, queue="sales", agent="bob", disposition="answered",
            hangup_by="caller", caller_sip_code=200, ended_at=at[6],
        ),
        c.RecordingReady(
            call_id=call_id, queue="sales", recording_id=call_id, url=RECORDING_URL,
            files=(c.RecordingFile(role="stereo", path=f"2026/12/01/{call_id}/stereo.wav",
                                   bytes=1_920_044, duration_seconds=120.0, sha256="ab" * 32),),
        ),
        c.CallCompleted(
            call_id=call_id, sip_call_id="abc@carrier", caller="+15557654321",
            did="+15550100100", trunk="carrier", queue="sales", agent="bob",
            disposition="answered", hangup_by="caller", arrived_at=at[0], answered_at=at[5],
            ended_at=at[6], wait_seconds=21.0, talk_seconds=120.0, wrapup_seconds=10.0,
            caller_sip_code=200, agent_sip_code=200, rtp_caller=RTP, rtp_agent=RTP,
            recording_id=call_id,
        ),
    ]  # fmt: skip
    return [cloudevent(p, n, at[n - 1]) for n, p in enumerate(payloads, start=1)]
