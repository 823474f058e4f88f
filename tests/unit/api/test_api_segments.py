"""A transferred call's segments through the API: the call view lists each segment's
audio URL, length and checksum; the recording route serves each segment (Range as
for the call's own file); an unknown segment is a 404 that says how many there are."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from gateway.store.models import Call
from tests.unit.api.conftest import WAV, Api

SECOND = bytes(reversed(WAV))  # segment 2's stereo file: other known bytes


def rows(call_id: str, first: str, second: Path) -> list[dict[str, Any]]:
    def row(index: int, agent: str, stereo: str, sha: str) -> dict[str, Any]:
        return {
            "index": index, "initial_call_id": call_id,
            "previous_segment": index - 1 if index > 1 else None, "agent": agent,
            "started_at": "2026-12-01T10:00:10+00:00", "transfer_id": "t1" if index > 1 else None,
            "recording_caller": None, "recording_agent": None, "recording_stereo": stereo,
            "files": [{"role": "stereo", "path": stereo, "bytes": 1024,
                       "duration_seconds": 3.5 * index, "sha256": sha}],
            "duration_seconds": 3.5 * index, "sha256": sha, "failure": None,
        }  # fmt: skip

    return [row(1, "alice", first, "a" * 64), row(2, "bob", str(second), "b" * 64)]


async def with_segments(api: Api, tmp_path: Path) -> str:
    """alice's call, transferred to bob: segment 2 in segment-2/ beside her file."""
    call_id = api.calls["alice"]
    second = tmp_path / "segment-2" / "stereo.wav"
    second.parent.mkdir()
    second.write_bytes(SECOND)
    async with api.db.transaction() as session:
        call = await session.get(Call, uuid.UUID(call_id))
        assert call is not None
        call.segments = rows(call_id, call.recording_stereo or "", second)
    return call_id


async def test_the_call_lists_each_segment_with_its_audio_length_and_checksum(
    api: Api, tmp_path: Path
) -> None:
    call_id = await with_segments(api, tmp_path)
    r = await api.get("qa", f"/api/v1/calls/{call_id}")
    assert r.status_code == 200, r.text
    one, two = r.json()["segments"]
    assert one["audio_url"] == f"/api/v1/calls/{call_id}/recording"
    assert two["audio_url"] == f"/api/v1/calls/{call_id}/recording?segment=2"
    for seg in (one, two):  # no file paths in the API (docs/api.md)
        assert not {"recording_caller", "recording_agent", "recording_stereo"} & set(seg)
        assert all("path" not in f for f in seg["files"])
    assert (one["duration_seconds"], two["duration_seconds"]) == (3.5, 7.0)
    assert (one["sha256"], two["sha256"]) == ("a" * 64, "b" * 64)
    assert two["files"][0]["role"] == "stereo" and two["agent"] == "bob"


async def test_each_segment_is_served_with_ranges_and_an_unknown_one_is_a_404(
    api: Api, tmp_path: Path
) -> None:
    call_id = await with_segments(api, tmp_path)
    url = f"/api/v1/calls/{call_id}/recording"
    assert (await api.get("qa", url)).content == WAV  # no segment: the call's own, as before
    assert (await api.get("qa", url, params={"segment": 1})).content == WAV
    two = await api.get("qa", url, params={"segment": 2})
    assert two.status_code == 200 and two.content == SECOND
    assert two.headers["content-type"] == "audio/wav"
    part = await api.get("qa", f"/calls/{call_id}/recording?segment=2",
                         headers={"Range": "bytes=10-19"})  # fmt: skip
    assert part.status_code == 206 and part.content == SECOND[10:20]
    assert part.headers["content-range"] == "bytes 10-19/1024"
    missing = await api.get("qa", url, params={"segment": 3})
    assert missing.status_code == 404
    assert "no segment 3 (it has 2" in missing.json()["detail"]
    no_role = await api.get("qa", url, params={"segment": 2, "role": "caller"})
    assert no_role.status_code == 404 and "segment 2" in no_role.json()["detail"]
    bad = await api.get("qa", url, params={"segment": 0})
    assert bad.status_code == 422 and "segment" in bad.text
    # a call that never changed agent has segment 1 only
    alone = await api.get("qa", f"/api/v1/calls/{api.calls['bob']}/recording?segment=2")
    assert alone.status_code == 404 and "it has 1" in alone.json()["detail"]


async def test_an_agent_user_hears_the_segments_of_its_own_calls_only(
    api: Api, tmp_path: Path
) -> None:
    call_id = await with_segments(api, tmp_path)
    mine = await api.get("ana", f"/api/v1/calls/{call_id}/recording?segment=2")
    assert mine.status_code == 200 and mine.content == SECOND
    other = await api.get("ana", f"/api/v1/calls/{api.calls['bob']}/recording?segment=2")
    assert other.status_code == 404 and "no call" in other.json()["detail"]
