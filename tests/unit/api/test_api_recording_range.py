"""Recording download with HTTP Range, on both paths; per role; audited."""

from __future__ import annotations

import pytest

from gateway.api.ranges import Unsatisfiable, byte_range
from tests.unit.api.conftest import WAV, Api

PATHS = ("/api/v1/calls/{}/recording", "/calls/{}/recording")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=1000-", (1000, 1023)),
        ("bytes=-10", (1014, 1023)),
        ("bytes=-5000", (0, 1023)),
        ("bytes=500-99999", (500, 1023)),
        ("bytes=1023-1023", (1023, 1023)),
        ("bytes=5-2", None),  # invalid: ignored
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_byte_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1024) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=1024-", 1024), ("bytes=-0", 1024),
                                              ("bytes=0-", 0), ("bytes=-1", 0)])  # fmt: skip
def test_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        byte_range(header, size)


@pytest.mark.parametrize("path", PATHS)
async def test_whole_file_and_ranges(api: Api, path: str) -> None:
    url = path.format(api.calls["alice"])
    whole = await api.get("qa", url)
    assert whole.status_code == 200 and whole.content == WAV
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == "1024"
    assert whole.headers["content-type"] == "audio/wav"
    for header, first, last in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-10", 1014, 1023),
        ("bytes=100-5000", 100, 1023),
    ]:
        part = await api.get("qa", url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.headers["content-range"] == f"bytes {first}-{last}/1024"
        assert part.content == WAV[first : last + 1]
        assert part.headers["content-length"] == str(last - first + 1)
    beyond = await api.get("qa", url, headers={"Range": "bytes=1024-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == "bytes */1024"
    several = await api.get("qa", url, headers={"Range": "bytes=0-1,3-4"})
    assert several.status_code == 200 and several.content == WAV


async def test_roles_on_the_download(api: Api) -> None:
    for path in PATHS:
        alice, bob = path.format(api.calls["alice"]), path.format(api.calls["bob"])
        for user in ("root", "sup", "qa"):
            assert (await api.get(user, bob)).status_code == 200
        assert (await api.get("ana", alice)).status_code == 200
        assert (await api.get("ana", bob)).status_code == 404  # not her call
        assert (await api.get(None, alice)).status_code == 401
    role = await api.get("qa", PATHS[0].format(api.calls["abandoned"]))
    assert role.status_code == 404
    missing = await api.get("qa", PATHS[0].format(api.calls["alice"]), params={"role": "caller"})
    assert missing.status_code == 404
    assert (await api.get("qa", PATHS[0].format("x"), params={"role": "bad"})).status_code == 422


async def test_every_download_is_audited(api: Api) -> None:
    await api.get("qa", PATHS[0].format(api.calls["alice"]), headers={"Range": "bytes=0-9"})
    await api.get("ana", PATHS[1].format(api.calls["bob"]))
    await api.get("sup", PATHS[0].format(api.calls["alice"]), params={"role": "agent"})
    items = (await api.get("root", "/api/v1/audit", params={"action": "recording.download"})).json()
    got = [(i["user"], i["target"], i["outcome"], i["details"]) for i in items["items"]]
    assert got == [
        ("qa", api.calls["alice"], "ok", {"role": None, "file": "alice-stereo.wav",
                                          "range": "bytes=0-9"}),
        ("ana", api.calls["bob"], "NotFound", {"role": None}),
        ("sup", api.calls["alice"], "ok", {"role": "agent", "file": "alice-stereo.wav"}),
    ]  # fmt: skip
